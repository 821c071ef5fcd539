// Asks Defender to cancel a running action, and expires approval cards that nobody decided on.
import type { Job } from 'bullmq';
import { needsDefenderCancel } from '../core/request-machine.js';
import { actorOf } from '../core/request-store.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { applyAndDispatch } from './dispatch-effects.js';
import type { JobDeps } from './job-deps.js';
import type { JobPayloads } from './job-names.js';
import { observeAction } from './observe-action.js';

export function createCancelProcessor(deps: JobDeps) {
  const { requests, defender, clock } = deps;
  return async function cancel(job: Job<JobPayloads['cancel']>): Promise<string> {
    const request = await requests.get(job.data.requestId);
    if (!request || !needsDefenderCancel(request)) return 'nothing to cancel';
    const by = request.cancellation!.by;
    try {
      const action = await defender.cancelMachineAction(
        request.actionId!,
        `[lr:${request.id}] Cancelled by ${by.name} from Teams`,
      );
      await observeAction(deps, request.id, action);
    } catch (error) {
      if (!(error instanceof DefenderApiError) || error.retryable) throw error;
      await requests.audit(request.id, {
        action: 'cancel-refused',
        actor: actorOf(by),
        detail: error.message,
      });
      // Usually the action finished first (cancel raced completion): not cancelled, so not confirmed either;
      // record how it really ended rather than leave the card to say it was cancelled.
      const action = await defender.getMachineAction(request.actionId!);
      if (action) await observeAction(deps, request.id, action);
      return 'cancel refused';
    }
    await applyAndDispatch(deps, request.id, { type: 'cancelConfirmed', at: clock.nowIso() });
    return 'cancel sent';
  };
}

export function createExpireProcessor(deps: JobDeps) {
  const { clock } = deps;
  return async function expire(job: Job<JobPayloads['expire']>): Promise<string> {
    const result = await applyAndDispatch(
      deps,
      job.data.requestId,
      { type: 'expire', at: clock.nowIso() },
      { action: 'expired', detail: 'no decision before the deadline' },
    );
    if (!result.ok) {
      if (result.error === 'NotFound') return 'gone';
      throw new Error(result.message); // clock skew: try again shortly
    }
    return result.changed ? 'expired' : 'already decided';
  };
}
