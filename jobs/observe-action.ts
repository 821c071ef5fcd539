// Folds what Defender says about an action into its request; what follows (card, results, slot, cancel) is decided by
// the lifecycle's effects and carried out by the dispatcher.
import type { LiveResponseRequest } from '../core/request.js';
import type { MachineAction } from '../defender/types.js';
import { applyAndDispatch } from './dispatch-effects.js';
import type { JobDeps } from './job-deps.js';

export async function observeAction(
  deps: JobDeps,
  requestId: string,
  action: MachineAction,
): Promise<LiveResponseRequest | null> {
  const result = await applyAndDispatch(deps, requestId, {
    type: 'actionObserved',
    action,
    at: deps.clock.nowIso(),
  });
  return result.ok ? result.request : null;
}
