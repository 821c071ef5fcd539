// Folds what Defender says about an action into its request, and schedules what follows (card, results, slot, cancel).
import { isFinal, type LiveResponseRequest } from '../core/request.js';
import { commandsNeedingResults, needsDefenderCancel } from '../core/request-machine.js';
import type { MachineAction } from '../defender/types.js';
import type { JobDeps } from './job-deps.js';

export async function observeAction(
  deps: JobDeps,
  requestId: string,
  action: MachineAction,
): Promise<LiveResponseRequest | null> {
  const { requests, sessions, scheduler, clock } = deps;
  const result = await requests.transition(requestId, { type: 'actionObserved', action, at: clock.nowIso() });
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
