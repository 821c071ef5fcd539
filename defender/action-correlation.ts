// Recognising the bot's own machine action: the request id goes into the Defender `Comment` as a tag, so after a
// lost response or a merge by Defender the bot can list the device's actions and find the one it asked for.
import type { LiveResponseRequest } from '../core/request.js';
import type { MachineAction } from './types.js';

/** The tag put into `Comment`, e.g. `[lr:LR-7K3F9Q]`. */
export function buildCorrelationTag(requestId: string): string {
  return `[lr:${requestId}]`;
}

/** The action whose `requestorComment` carries the request's tag; the newest one if several do. */
export function findCorrelatedAction<
  T extends Pick<MachineAction, 'requestorComment' | 'creationDateTimeUtc'>,
>(actions: readonly T[], requestId: string): T | undefined {
  const tag = buildCorrelationTag(requestId);
  let found: T | undefined;
  for (const action of actions) {
    if (!action.requestorComment?.includes(tag)) continue;
    if (!found || Date.parse(action.creationDateTimeUtc) > Date.parse(found.creationDateTimeUtc))
      found = action;
  }
  return found;
}

/** The text put in Defender's `Comment`: who, where, why, and the correlation tag that finds the action again. */
export function buildDefenderComment(request: LiveResponseRequest, channelLabel: string): string {
  const reason = request.reason ? ` because ${request.reason}` : '';
  const approver = request.decision?.kind === 'approved' ? `; approved by ${request.decision.by.name}` : '';
  const text = `${buildCorrelationTag(request.id)} Requested by ${request.requester.name} in ${channelLabel}${approver}${reason}`;
  // Defender keeps comments short; the tag comes first so truncation never loses it.
  return text.slice(0, 1000);
}
