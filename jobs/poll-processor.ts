// Polls every in-flight Defender action with as few calls as the API allows: one filtered list call per 50 actions.
import type { Job } from 'bullmq';
import { isFinal, type LiveResponseRequest } from '../core/request.js';
import type { JobDeps } from './job-deps.js';
import { observeAction } from './observe-action.js';

/** Ids per `$filter=id in (...)` call: keeps the URL far below common 8 KB limits. */
export const POLL_BATCH = 50;

export function createPollProcessor(deps: JobDeps) {
  const { requests, defender, logger } = deps;

  return async function poll(_job: Job): Promise<string> {
    const ids = await requests.inflightIds();
    const inflight = (await Promise.all(ids.map((id) => requests.get(id)))).filter(
      (r): r is LiveResponseRequest => r !== null && Boolean(r.actionId),
    );
    await releaseOrphanSlots(deps, new Set(inflight.map((r) => r.id)));
    if (inflight.length === 0) return 'nothing in flight';

    let calls = 0;
    for (let i = 0; i < inflight.length; i += POLL_BATCH) {
      const batch = inflight.slice(i, i + POLL_BATCH);
      const actions = await defender.listMachineActions({ ids: batch.map((r) => r.actionId!) });
      calls++;
      const byId = new Map(actions.map((a) => [a.id, a]));
      for (const request of batch) {
        const action = byId.get(request.actionId!);
        if (action) await observeAction(deps, request.id, action);
        // Missing from the list: Defender can lag right after creation; the next tick sees it.
        else logger.debug({ requestId: request.id, actionId: request.actionId }, 'action not listed yet');
      }
    }
    return `polled ${inflight.length} action(s) with ${calls} call(s)`;
  };
}

/** Frees session slots whose request ended or never got an action (a crash between the two). */
async function releaseOrphanSlots(deps: JobDeps, inflightIds: Set<string>): Promise<void> {
  const holders = await deps.sessions.holders();
  const queued = new Set(await deps.requests.queuedIds());
  for (const requestId of Object.keys(holders)) {
    if (inflightIds.has(requestId) || queued.has(requestId)) continue;
    const request = await deps.requests.get(requestId);
    if (!request || isFinal(request.state)) await deps.sessions.release(requestId);
  }
}
