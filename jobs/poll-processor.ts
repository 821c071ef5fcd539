// Polls every in-flight Defender action with as few calls as the API allows: one `id in (...)` list call per batch,
// each batch as many ids as fit Defender's 2 KB query string (about 44 action GUIDs).
import type { Job } from 'bullmq';
import { isFinal, type LiveResponseRequest } from '../core/request.js';
import { actionIdsQuerySize } from '../defender/defender-client.js';
import { callInHalvesWhenRefused, fitsBudget, packBatches } from '../defender/odata-limits.js';
import type { JobDeps } from './job-deps.js';
import { observeAction } from './observe-action.js';

/** At most this many ids per call even when they are short (keeps one answer's size bounded). */
export const POLL_BATCH = 50;

/** Action ids in batches that fit Defender's query limits (packBatches over `id in (...)`). */
export function pollBatches<T>(items: readonly T[], idOf: (item: T) => string): T[][] {
  return packBatches(
    items,
    (batch) => batch.length <= POLL_BATCH && fitsBudget(actionIdsQuerySize(batch.map(idOf))),
  );
}

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
    for (const batch of pollBatches(inflight, (r) => r.actionId!)) {
      // Defender refusing a batch's query (400/414) costs that tick a few more calls, never a request.
      const actions = await callInHalvesWhenRefused(
        batch.map((r) => r.actionId!),
        (ids) => {
          calls++;
          return defender.listMachineActions({ ids });
        },
      );
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
