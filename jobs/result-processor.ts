// Records a completed command's result: for RunScript the transcript summary (and a link backed by the Defender URL
// minted to read it), for GetFile a link minted from Defender when first opened.
import type { Job } from 'bullmq';
import type { ResultFile, ResultLink } from '../core/request.js';
import { resultFileName } from '../core/result-file-name.js';
import { summariseTranscript } from '../core/summarise-transcript.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { describeResultFile, lazyLink, mintedLink } from '../defender/result-links.js';
import { applyAndDispatch } from './dispatch-effects.js';
import type { JobDeps } from './job-deps.js';
import type { JobPayloads } from './job-names.js';

/** A Defender refusal worth showing on the card instead of retrying. */
function resultErrorOf(error: unknown): string | null {
  if (error instanceof DefenderApiError && !error.retryable)
    return `Defender did not give the result (${error.code || error.status}): ${error.message}`;
  return null;
}

export function createResultProcessor(deps: JobDeps) {
  const { requests, defender, clock } = deps;

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
      file?: ResultFile;
      resultError?: string;
    };
    try {
      if (command?.type === 'RunScript') {
        // The transcript is read now for the card, so its link is backed by the URL minted to read it.
        const { link, url } = await mintedLink(deps, request.actionId, index, clock.now(), request.id);
        const { bytes, truncated } = await defender.downloadResult(url, deps.settings.transcriptMaxBytes);
        event = { link, transcript: summariseTranscript(bytes) };
        // Read whole, the transcript's name, size and SHA-256 are known now; a longer one's come with its first download.
        if (!truncated)
          event.file = describeResultFile(bytes, (gzip) => resultFileName(request, index, gzip));
      } else {
        // A collected file is minted from Defender only when someone opens its link.
        event = { link: await lazyLink(deps.links, clock.now(), { requestId: request.id, index }) };
      }
    } catch (error) {
      const resultError = resultErrorOf(error);
      if (!resultError) throw error; // retried by BullMQ with back-off
      event = { resultError };
    }
    await applyAndDispatch(deps, requestId, { type: 'resultFetched', index, ...event });
    return event.resultError ? 'result unavailable' : `fetched result ${index} at ${clock.nowIso()}`;
  };
}
