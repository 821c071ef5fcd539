// "Get fresh link": new links for every command that has a result, each minted from Defender when opened; nothing
// runs again and no API budget is spent until someone downloads.
import type { Job } from 'bullmq';
import { commandsWithResults } from '../core/request-machine.js';
import { lazyLink } from '../defender/result-links.js';
import { applyAndDispatch } from './dispatch-effects.js';
import type { JobDeps } from './job-deps.js';
import type { JobPayloads } from './job-names.js';

export function createFreshLinksProcessor(deps: JobDeps) {
  const { requests, scheduler } = deps;
  return async function freshLinks(job: Job<JobPayloads['freshLinks']>): Promise<string> {
    const request = await requests.get(job.data.requestId);
    if (!request?.actionId) return 'no results';
    const indexes = commandsWithResults(request);
    const links = [];
    for (const index of indexes) {
      // Bound to its command, the new link joins the older ones, which keep working until their own expiry.
      links.push({
        index,
        link: await lazyLink(deps.links, deps.clock.now(), { requestId: request.id, index }),
      });
    }
    // One change for every link and the notice cleared: one card update.
    await applyAndDispatch(deps, request.id, { type: 'linksRenewed', links });
    // A transcript that could not be read the first time is fetched again too.
    for (const index of indexes)
      if (request.commands[index]?.type === 'RunScript' && !request.progress[index]?.transcript)
        await scheduler.fetchResult(request.id, index).catch(() => undefined);
    return `minted ${indexes.length} link(s)`;
  };
}
