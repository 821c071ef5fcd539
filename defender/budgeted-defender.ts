// Wraps the Defender client so every API call first takes a slot from the shared budget,
// and every 429 slows all processes down rather than just the caller.
import type { DefenderBudget } from './defender-budget.js';
import type { DefenderApi } from './defender-client.js';
import { DefenderApiError } from './defender-errors.js';

/** Used when Defender sends 429 without a Retry-After. */
const DEFAULT_RETRY_AFTER_MS = 30_000;

export function createBudgetedDefender(
  api: DefenderApi,
  budget: DefenderBudget,
  options: { maxWaitMs: number },
): DefenderApi {
  async function call<T>(kind: 'api' | 'run', fn: () => Promise<T>): Promise<T> {
    // `runliveresponse` slots are taken by the submit job itself (it re-queues instead of waiting).
    if (kind === 'api') await budget.acquire('api', options.maxWaitMs);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof DefenderApiError && error.kind === 'throttled') {
        const retryAfterMs = error.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
        // A 429 on the general API holds back every call, `runliveresponse` too; a 429 on `runliveresponse`
        // is its own stricter limit and holds back only that call.
        await Promise.all(
          (kind === 'api' ? (['api', 'run'] as const) : (['run'] as const)).map((k) =>
            budget.backOff(k, retryAfterMs),
          ),
        );
      }
      throw error;
    }
  }

  return {
    findMachines: (query) => call('api', () => api.findMachines(query)),
    listLibraryFiles: () => call('api', () => api.listLibraryFiles()),
    runLiveResponse: (machineId, body) => call('run', () => api.runLiveResponse(machineId, body)),
    getMachineAction: (id) => call('api', () => api.getMachineAction(id)),
    listMachineActions: (query) => call('api', () => api.listMachineActions(query)),
    cancelMachineAction: (id, comment) => call('api', () => api.cancelMachineAction(id, comment)),
    getResultDownloadLink: (actionId, index) => call('api', () => api.getResultDownloadLink(actionId, index)),
    // Result files come from blob storage, not the API: no API budget.
    downloadResult: (url, maxBytes) => api.downloadResult(url, maxBytes),
  };
}
