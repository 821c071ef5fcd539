// Issue 10 point 6: BullMQ keeps finished jobs only briefly now, so a submit job's deterministic id no longer shields a
// request from a second run by itself: a submit job added again after its completed twin was removed (by retention, or
// by the reconciler) must find the work done — from the request's state, or from the attempt it recorded before
// calling Defender — and never send a second runliveresponse.
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import { createRequestStore } from '../core/request-store.js';
import { QUEUES } from '../jobs/job-names.js';
import { createJobScheduler, type JobScheduler } from '../jobs/job-scheduler.js';
import { runLiveResponseBody } from '../jobs/submit-processor.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { actionsOf, approve, ask, MACHINE_IDS, runCallsFor } from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

let stack: Stack;
let client: TeamsClient;
let scheduler: JobScheduler;
let submitQueue: Queue;

beforeAll(async () => {
  stack = await startStack();
  client = teamsClientFor(stack);
  const keys = redisKeys(stack.prefix);
  scheduler = createJobScheduler({ connection: stack.redis.duplicate(), prefix: keys.bullPrefix() });
  submitQueue = new Queue(QUEUES.submit, { connection: stack.redis.duplicate(), prefix: keys.bullPrefix() });
});
afterAll(async () => {
  await scheduler?.close();
  await submitQueue?.close();
  await stack?.close();
});

/** Waits until the submit job of `requestId` has completed and returns what the processor answered. */
async function submitOutcome(requestId: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const job = await submitQueue.getJob(`submit-${requestId}`);
    if (job && (await job.isCompleted())) return String(job.returnvalue);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the submit job of ${requestId} did not complete within 20 s`);
}

describe('a submit job added again after its completed job was removed', () => {
  it('does not submit a finished request a second time', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
    await waitForCard(stack, request.activity.id, /Exit code 0/, 30_000);
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);

    // Retention removed the completed job; the deterministic id is free again.
    await submitQueue.remove(`submit-${request.requestId}`);
    await scheduler.submit(request.requestId);

    expect(await submitOutcome(request.requestId)).toMatch(/^already submitted as /);
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  }, 60_000);

  it('finds the action of the attempt it recorded instead of sending again when the job vanished mid-submission', async () => {
    // Only the HTTP side runs: the approval queues a submit job nobody takes yet.
    await stack.stopBot();
    await stack.startBot({}, { workers: false });
    client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);

    // What a worker that died inside runliveresponse leaves behind: the attempt recorded, Defender's action created,
    // its answer lost with the process — and then the job itself removed.
    const requests = createRequestStore({
      redis: stack.redis,
      keys: redisKeys(stack.prefix),
      clock: systemClock,
    });
    const started = await requests.transition(request.requestId, {
      type: 'submitStarted',
      at: new Date().toISOString(),
    });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const created = await fetch(`${stack.sim.url}/api/machines/${MACHINE_IDS.desktop2}/runliveresponse`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
      body: JSON.stringify(runLiveResponseBody(started.request, 'Teams')),
    });
    expect(created.status).toBe(201);
    await submitQueue.remove(`submit-${request.requestId}`);

    await stack.stopBot();
    await stack.startBot({}, { workers: true });
    await scheduler.submit(request.requestId);

    expect(await submitOutcome(request.requestId)).toMatch(/^recovered /);
    const final = await waitForCard(stack, request.activity.id, /Exit code 0/, 30_000);
    expect(cardText(final)).toContain('Succeeded');
    // The one runliveresponse is the lost attempt's: the bot sent none of its own.
    expect(runCallsFor(stack, MACHINE_IDS.desktop2)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  }, 60_000);
});

describe('what a finished request leaves in Redis', () => {
  it("keeps its card's fingerprint no longer than REQUEST_RETENTION keeps the request", async () => {
    await stack.stopBot();
    await stack.startBot({ REQUEST_RETENTION: '2h' }, { workers: true });
    client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
    await waitForCard(stack, request.activity.id, /Exit code 0/, 30_000);

    const ttl = await stack.redis.ttl(redisKeys(stack.prefix).cardFingerprint(request.requestId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 3600);
  }, 60_000);
});
