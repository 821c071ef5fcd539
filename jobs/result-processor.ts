// Fetches a completed command's result: a fresh Defender link (kept server-side) and, for RunScript, its transcript summary.
import type { Job } from 'bullmq';
import type { LiveResponseRequest, ResultLink } from '../core/request.js';
import { summariseTranscript } from '../core/summarise-transcript.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { linkExpiry } from '../defender/result-links.js';
import type { JobDeps } from './job-deps.js';
import type { JobPayloads } from './job-names.js';

/** Mints a new Defender link for one command and stores it; the card gets only its opaque id. */
export async function mintLink(
  deps: JobDeps,
  request: LiveResponseRequest,
  index: number,
): Promise<{ link: ResultLink; url: string }> {
  const url = await deps.defender.getResultDownloadLink(request.actionId!, index);
  const now = deps.clock.now();
  const expiresAt = linkExpiry(url, now);
  const id = await deps.links.save(url, expiresAt, now);
  return { link: { id, expiresAt: new Date(expiresAt).toISOString() }, url };
}

/** A Defender refusal worth showing on the card instead of retrying. */
export function resultErrorOf(error: unknown): string | null {
  if (error instanceof DefenderApiError && !error.retryable)
    return `Defender did not give the result (${error.code || error.status}): ${error.message}`;
  return null;
}

export function createResultProcessor(deps: JobDeps) {
  const { requests, defender, scheduler, clock } = deps;

  return async function fetchResult(job: Job<JobPayloads['fetchResult']>): Promise<string> {
    const { requestId, index } = job.data;
    const request = await requests.get(requestId);
    const progress = request?.progress[index];
    if (!request || !progress || !request.actionId) return 'nothing to fetch';
    if (progress.link && (progress.transcript || request.commands[index]?.type !== 'RunScript'))
      return 'already fetched';
    const command = request.commands[index];

    let event: {
      link?: ResultLink;
      transcript?: ReturnType<typeof summariseTranscript>;
      resultError?: string;
    };
    try {
      const { link, url } = await mintLink(deps, request, index);
      event = { link };
      if (command?.type === 'RunScript') {
        const { bytes } = await defender.downloadResult(url, deps.settings.transcriptMaxBytes);
        event.transcript = summariseTranscript(bytes);
      }
    } catch (error) {
      const resultError = resultErrorOf(error);
      if (!resultError) throw error; // retried by BullMQ with back-off
      event = { resultError };
    }
    const result = await requests.transition(requestId, { type: 'resultFetched', index, ...event });
    if (result.ok && result.changed) await scheduler.updateCard(requestId, result.request.version);
    return event.resultError ? 'result unavailable' : `fetched result ${index} at ${clock.nowIso()}`;
  };
}
