// The bot dies between the two writes of an approval — the request is written Approved, its submit job is not — and
// after a restart the request is still submitted, once, and its card reaches the end. The bot runs as a child process
// (test/support/bot-process.ts) told by a test-only variable to SIGKILL itself right after the write whose effects
// include the submission, before any effect is carried out.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import type { RequestStore } from '../core/request-store.js';
import { QUEUES } from '../jobs/job-names.js';
import type { ProcessStack } from './support/bot-process.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  approveAndCrash,
  armCrashBefore,
  restartAfterCrash,
  startCrashStack,
} from './support/process-steps.js';
import { actionsOf, ask, MACHINE_IDS, runCallsFor, waitForFinalCard } from './support/request-steps.js';

let stack: ProcessStack;
let requests: RequestStore;
let submitQueue: Queue;

beforeAll(async () => {
  ({ stack, requests } = await startCrashStack());
  submitQueue = new Queue(QUEUES.submit, {
    connection: stack.redis,
    prefix: redisKeys(stack.prefix).bullPrefix(),
  });
});
afterAll(async () => {
  await submitQueue?.close();
  await stack?.close();
});

describe('a bot killed between the approval and its submission', () => {
  it('submits the approved request once after a restart', async () => {
    await armCrashBefore(stack, 'submit');
    const client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');

    // The click's answer never comes: the bot dies after writing the approval.
    await approveAndCrash(stack, client, request);
    expect(stack.bot.unexpectedExits()).toHaveLength(1);

    // The first write is there, the second is not.
    const approved = await requests.get(request.requestId);
    expect(approved?.state).toBe('Approved');
    expect(approved?.decision?.by.name).toBe('Alex Lead');
    expect(await submitQueue.getJobState(`submit-${request.requestId}`)).toBe('unknown');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(0);

    await restartAfterCrash(stack);

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('Approved by Alex Lead');
    expect(cardText(card)).toContain('nt authority\\system');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    const trail = (await requests.auditTrail(request.requestId)).map((e) => e.action);
    expect(trail.filter((a) => a === 'approved')).toHaveLength(1);
    expect(trail.filter((a) => a === 'submitted')).toHaveLength(1);
    expect(stack.bot.output()).toMatch(/reconciler repaired a request/);
  });
});
