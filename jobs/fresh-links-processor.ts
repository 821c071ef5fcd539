// "Get fresh link": mints new Defender links for every command that has a result, without running anything again.
import type { Job } from 'bullmq';
import { commandsWithResults } from '../core/request-machine.js';
import type { JobDeps } from './job-deps.js';
import type { JobPayloads } from './job-names.js';
import { mintLink, resultErrorOf } from './result-processor.js';

export function createFreshLinksProcessor(deps: JobDeps) {
  const { requests, scheduler } = deps;
  return async function freshLinks(job: Job<JobPayloads['freshLinks']>): Promise<string> {
    const request = await requests.get(job.data.requestId);
    if (!request?.actionId) return 'no results';
    const indexes = commandsWithResults(request);
    for (const index of indexes) {
      try {
        const { link } = await mintLink(deps, request, index);
        await requests.transition(request.id, { type: 'resultFetched', index, link });
      } catch (error) {
        const resultError = resultErrorOf(error);
        if (!resultError) throw error;
        await requests.transition(request.id, { type: 'resultFetched', index, resultError });
      }
    }
    // A transcript that could not be read the first time is fetched again too.
    for (const index of indexes)
      if (request.commands[index]?.type === 'RunScript' && !request.progress[index]?.transcript)
        await scheduler.fetchResult(request.id, index).catch(() => undefined);
    const cleared = await requests.transition(request.id, { type: 'notice', text: undefined });
    if (cleared.ok) await scheduler.updateCard(request.id, cleared.request.version);
    return `minted ${indexes.length} link(s)`;
  };
}
