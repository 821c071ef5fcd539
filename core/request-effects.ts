// What must follow a committed change to a request (a job, a card update, a slot freed), decided from the change
// alone so no caller pairs a transition with its follow-ups by hand. Pure data: jobs/dispatch-effects.ts carries it out.
import { isFinal, type LiveResponseRequest } from './request.js';

export type RequestEffect =
  /** Re-render the request's card; `tag` (usually the version) makes one card job per change. */
  | { type: 'updateCard'; tag: string | number }
  /** Submit the approved request to Defender. */
  | { type: 'submit' }
  /** Expire the approval card at its deadline if nobody decides. */
  | { type: 'expireAt'; at: string }
  /** Read a completed command's result. */
  | { type: 'fetchResult'; index: number }
  /** Ask Defender to cancel the running action; `tag` tells cancels asked at different versions apart. */
  | { type: 'cancelInDefender'; tag: number }
  /** The request no longer needs its live response session slot. */
  | { type: 'releaseSession' }
  /** A submission left the queue: the requests behind it moved up. */
  | { type: 'refreshQueuePositions' }
  /** An audit entry about the change that the transition's own entry does not carry. */
  | { type: 'audit'; action: string; detail: string }
  /** A fan-out was approved: create each included device's request (ids fixed on the parent) and submit it. */
  | { type: 'startFanOut' }
  /** Cancel every device's request of a fan-out ("Cancel all" after approval). */
  | { type: 'cancelChildren' }
  /** A device's request of a fan-out changed: re-render the parent's card (coalesced, see FANOUT_CARD_WINDOW_MS). */
  | { type: 'updateParentCard' }
  /** A device's request of a fan-out ended: the parent ends too once all of them have. */
  | { type: 'finishParent' };

export type EffectType = RequestEffect['type'];

/** Just the event's kind and what effects need of it; the machine passes its own events here. */
export interface EffectCause {
  type: string;
  /** Defender's status of the action an observation reported (for the "finished" audit entry). */
  actionStatus?: string;
}

/** Index of commands that completed with a result to fetch (RunScript/GetFile), not yet fetched. */
export function commandsNeedingResults(request: LiveResponseRequest): number[] {
  return request.commands
    .map((command, index) => ({ command, index, progress: request.progress[index] }))
    .filter(
      ({ command, progress }) =>
        command.type !== 'PutFile' &&
        progress?.status === 'Completed' &&
        !progress.link &&
        !progress.resultError,
    )
    .map(({ index }) => index);
}

/** Whether the worker still has to ask Defender to cancel. */
export function needsDefenderCancel(request: LiveResponseRequest): boolean {
  return Boolean(
    request.cancellation && !request.cancellation.confirmedAt && request.actionId && !isFinal(request.state),
  );
}

/**
 * The effects of one applied event. `changed` is false when the event changed nothing: an observation still asks for
 * results not fetched yet and a cancel not sent yet (their earlier jobs may be gone), nothing else does.
 */
export function effectsOf(
  before: LiveResponseRequest,
  after: LiveResponseRequest,
  changed: boolean,
  cause: EffectCause,
): RequestEffect[] {
  const effects: RequestEffect[] = [];
  // Only a posted card can be updated; the card job re-renders whatever is current when it runs.
  const card = (): void => {
    if (changed && after.card) effects.push({ type: 'updateCard', tag: after.version });
  };
  const followAction = (): void => {
    for (const index of commandsNeedingResults(after)) effects.push({ type: 'fetchResult', index });
    if (needsDefenderCancel(after)) effects.push({ type: 'cancelInDefender', tag: after.version });
  };
  switch (cause.type) {
    case 'approve':
      if (changed && after.state === 'Approved')
        effects.push({ type: after.fanOut ? 'startFanOut' : 'submit' });
      card();
      break;
    case 'cancel':
      card();
      if (changed && isFinal(after.state)) effects.push({ type: 'releaseSession' });
      if (needsDefenderCancel(after)) effects.push({ type: 'cancelInDefender', tag: after.version });
      if (changed && after.fanOut && after.cancellation && !isFinal(after.state))
        effects.push({ type: 'cancelChildren' });
      break;
    case 'cardPosted':
      if (changed && after.state === 'AwaitingApproval')
        effects.push({ type: 'expireAt', at: after.expiresAt });
      break;
    // The attempt's bookkeeping: the card moves on when Defender answers.
    case 'submitStarted':
    case 'submitNotCreated':
    case 'submitAttemptFailed':
      break;
    case 'submitted':
    case 'actionObserved':
      card();
      if (changed && isFinal(after.state) && !isFinal(before.state)) {
        effects.push({ type: 'releaseSession' });
        effects.push({
          type: 'audit',
          action: 'finished',
          detail: `${after.state} (Defender: ${cause.actionStatus ?? after.actionStatus ?? 'unknown'})`,
        });
      }
      followAction();
      break;
    case 'submitFailed':
      card();
      effects.push({ type: 'releaseSession' });
      break;
    default:
      // approve's siblings (reject, expire), cancelConfirmed, resultFetched, linksRenewed, notice: the card shows it.
      card();
  }
  // A fan-out's device request has no card: its parent's card shows it, and the parent ends after the last of them.
  if (changed && after.parentId) {
    effects.push({ type: 'updateParentCard' });
    // Also after a result arrives: the parent ends only once every device's results are in.
    if (isFinal(after.state)) effects.push({ type: 'finishParent' });
  }
  // Whoever leaves the line (submitted, cancelled or failed before Defender had it) moves everyone behind up.
  if (changed && waitsInLine(before) && !waitsInLine(after)) effects.push({ type: 'refreshQueuePositions' });
  return effects;
}

/** Approved and not handed to Defender yet: what the store's queue index holds. */
function waitsInLine(request: LiveResponseRequest): boolean {
  return (
    !isFinal(request.state) &&
    !request.actionId &&
    (request.state === 'Approved' || request.state === 'Submitting')
  );
}
