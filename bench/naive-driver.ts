// The comparison strategy, as a quick script would do it with the same Defender client: submit everything at once,
// retry each 429 after its Retry-After, poll each action on its own, fetch the result links when it is done.
import { createDefenderClient } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { createStaticTokenProvider } from '../defender/token-provider.js';
import type { MachineAction, RunLiveResponseBody } from '../defender/types.js';

export interface NaiveInput {
  defenderUrl: string;
  machineIds: string[];
  body: RunLiveResponseBody;
  /** Real ms between two polls of one action. */
  pollEveryMs: number;
  /** Commands whose result link to fetch when the action is done. */
  resultIndexes: number[];
  /** Give up on everything still running at this real time (epoch ms). */
  deadline: number;
}

export interface NaiveRequest {
  machineId: string;
  submittedAt?: number;
  actionId?: string;
  /** When the last result link arrived (real epoch ms). */
  doneAt?: number;
  status?: string;
  throttled: number;
  error?: string;
}

export interface NaiveRun {
  startedAt: number;
  requests: NaiveRequest[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const FINAL = new Set(['Succeeded', 'Failed', 'TimeOut', 'Cancelled']);

class DeadlineError extends Error {}

export async function runNaive(input: NaiveInput): Promise<NaiveRun> {
  const client = createDefenderClient({
    baseUrl: input.defenderUrl,
    tokens: createStaticTokenProvider('sim-token'),
  });

  /** Calls until it is not a 429, sleeping Retry-After each time (1 s when Defender gives none). */
  async function retrying<T>(request: NaiveRequest, call: () => Promise<T>): Promise<T> {
    for (;;) {
      if (Date.now() > input.deadline) throw new DeadlineError('deadline');
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof DefenderApiError) || error.kind !== 'throttled') throw error;
        request.throttled++;
        await sleep(error.retryAfterMs ?? 1_000);
      }
    }
  }

  async function one(request: NaiveRequest): Promise<void> {
    const created = await retrying(request, () => client.runLiveResponse(request.machineId, input.body));
    request.submittedAt = Date.now();
    request.actionId = created.id;
    let action: MachineAction | null = created;
    while (!action || !FINAL.has(action.status)) {
      await sleep(input.pollEveryMs);
      action = await retrying(request, () => client.getMachineAction(created.id));
    }
    request.status = action.status;
    for (const index of input.resultIndexes)
      if (action.commands[index]?.commandStatus === 'Completed')
        await retrying(request, () => client.getResultDownloadLink(created.id, index));
    request.doneAt = Date.now();
  }

  const startedAt = Date.now();
  const requests: NaiveRequest[] = input.machineIds.map((machineId) => ({ machineId, throttled: 0 }));
  await Promise.all(
    requests.map((request) =>
      one(request).catch((error: unknown) => {
        request.error = error instanceof Error ? error.message : String(error);
      }),
    ),
  );
  return { startedAt, requests };
}
