// Folds what Defender says about an action into its request, and schedules what follows (card, results, slot, cancel).
import { isFinal, type LiveResponseRequest } from '../core/request.js';
import { commandsNeedingResults, needsDefenderCancel } from '../core/request-machine.js';
import type { StoreTransitionResult } from '../core/request-store.js';
import type { MachineAction } from '../defender/types.js';
import type { JobDeps } from './job-deps.js';

export async function observeAction(
  deps: JobDeps,
  requestId: string,
  action: MachineAction,
): Promise<LiveResponseRequest | null> {
  const { requests, clock } = deps;
  const result = await requests.transition(requestId, { type: 'actionObserved', action, at: clock.nowIso() });
  return followObservation(deps, result, action);
}

/**
 * What follows once an action's state is recorded, by a poll or by the submission itself: the card, the results,
 * the session slot, a pending cancel. A recovered action can already be final, and then nothing polls it again.
 */
export async function followObservation(
  deps: JobDeps,
  result: StoreTransitionResult,
  action: MachineAction,
): Promise<LiveResponseRequest | null> {
  const { requests, sessions, scheduler } = deps;
  if (!result.ok) return null;
  const next = result.request;
  if (result.changed) {
    await scheduler.updateCard(next.id, next.version);
    if (isFinal(next.state)) {
      await sessions.release(next.id);
      await requests.audit(next.id, {
        action: 'finished',
        detail: `${next.state} (Defender: ${action.status})`,
      });
    }
  }
  for (const index of commandsNeedingResults(next)) await scheduler.fetchResult(next.id, index);
  if (needsDefenderCancel(next)) await scheduler.cancel(next.id, next.version);
  return next;
}
