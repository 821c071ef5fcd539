// Kill -9 at every stage of a request, start the bot again: each request still reaches its final card, with exactly
// one Defender action and one card message. The bot runs as `tsx app/main.ts` in a child process (real SIGKILL, real
// Redis, the Defender simulator and fake Teams over HTTP); BullMQ takes over a dead worker's jobs after
// JOB_LOCK_DURATION.
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest } from '../core/request.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { QUEUES } from '../jobs/job-names.js';
import { machineIdFor } from '../simulator/seed-data.js';
import { type ProcessStack, startProcessStack } from './support/bot-process.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { type AskedRequest, approve, ask } from './support/request-steps.js';
import type { TeamsClient } from './support/teams-client.js';

let stack: ProcessStack;
let client: TeamsClient;
let requests: RequestStore;

beforeAll(async () => {
  stack = await startProcessStack();
  client = teamsClientFor(stack);
  requests = createRequestStore({ redis: stack.redis, keys: redisKeys(stack.prefix), clock: systemClock });
});
beforeEach(async () => {
  // A test that failed half-way may have left the bot down.
  if (!stack.bot.running) await stack.bot.start();
});
afterEach((context) => {
  if (context.task.result?.state === 'fail')
    console.error(`--- bot output ---\n${stack.bot.output().split('\n').slice(-80).join('\n')}`);
  // A crash nobody asked for would make any recovery below meaningless.
  expect(stack.bot.unexpectedExits()).toEqual([]);
});
afterAll(async () => {
  await stack?.close();
});

/** Polls `probe` until it returns something; `what` names it in the timeout error. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `timed out waiting for ${what}\n--- bot output ---\n${stack.bot.output().split('\n').slice(-40).join('\n')}`,
  );
}

async function stored(requestId: string): Promise<LiveResponseRequest> {
  const request = await requests.get(requestId);
  if (!request) throw new Error(`${requestId} is not in Redis`);
  return request;
}

/** The runliveresponse POSTs the simulator received for a device since `mark` (an index into its call log). */
function runPosts(device: string, mark: number) {
  const path = new RegExp(`/api/machines/${machineIdFor(device)}/runliveresponse$`);
  return stack.sim.control
    .calls()
    .slice(mark)
    .filter((c) => c.method === 'POST' && path.test(c.path));
}

function actionsOf(requestId: string) {
  return stack.sim.control.actions().filter((a) => a.requestorComment.includes(`[lr:${requestId}]`));
}

function callMark(): number {
  return stack.sim.control.calls().length;
}

/** SIGKILL, then start again on the same port, Redis prefix, simulator and Teams. */
async function crashAndRestart(between?: () => Promise<void>): Promise<void> {
  await stack.bot.kill();
  await between?.();
  await stack.bot.start();
}

/** The request's card ends as a successful whoami.ps1 run, from one Defender action, in one card message. */
async function expectFinishedOnce(request: AskedRequest, device: string, mark: number): Promise<void> {
  const final = await waitForCard(stack, request.activity.id, /Exit code 0/);
  const text = cardText(final);
  expect(text).toContain('Succeeded');
  expect(text).toContain('nt authority\\system');
  expect(actionsOf(request.requestId)).toHaveLength(1);
  expect(runPosts(device, mark)).toHaveLength(1);
  const cards = stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a));
  expect(cards.map((a) => a.id)).toEqual([request.activity.id]);
  expect((await stored(request.requestId)).actionId).toBe(actionsOf(request.requestId)[0]?.id);
}

describe('a bot killed with SIGKILL and started again', () => {
  it('runs a request that was awaiting approval when the bot died, once approved', async () => {
    const mark = callMark();
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    expect((await stored(request.requestId)).state).toBe('AwaitingApproval');

    await crashAndRestart();
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);

    await expectFinishedOnce(request, 'desktop-test.contoso.local', mark);
  });

  it('finds the action by its correlation tag when the bot died before Defender answered runliveresponse', async () => {
    const device = 'desktop-test2.contoso.local';
    const mark = callMark();
    const request = await ask(stack, client, `run whoami.ps1 on ${device}`);
    // Defender takes the request but answers late: the bot dies first, then the action is created.
    stack.sim.control.injectFault({
      method: 'POST',
      path: /\/runliveresponse$/,
      kind: 'hang',
      delayMs: 1_500,
    });
    await approve(client, request);
    await until('the runliveresponse call', () => runPosts(device, mark).length === 1);
    expect((await stored(request.requestId)).state).toBe('Submitting');

    await crashAndRestart(async () => {
      await until('Defender to create the action', () => actionsOf(request.requestId).length === 1);
    });

    await expectFinishedOnce(request, device, mark);
    expect((await requests.auditTrail(request.requestId)).map((e) => e.action)).toContain('submitted');
  });

  it('keeps polling an action that was in progress when the bot died mid-poll', async () => {
    const device = 'srv-db01.contoso.local';
    const mark = callMark();
    const request = await ask(stack, client, `run whoami.ps1 on ${device}`);
    // Real time, so the bot sees the action InProgress for a few seconds.
    stack.sim.control.setSpeed(1);
    try {
      await approve(client, request);
      await until('the bot to see the action InProgress', async () => {
        return (await stored(request.requestId)).state === 'InProgress';
      });
      // Hold the next poll open so the kill lands while a poll job is running.
      const pollsBefore = stack.sim.control.calls({ method: 'GET', path: /^\/api\/machineactions$/ }).length;
      stack.sim.control.injectFault({
        method: 'GET',
        path: /^\/api\/machineactions$/,
        kind: 'hang',
        delayMs: 5_000,
      });
      await until(
        'a poll in flight',
        () =>
          stack.sim.control.calls({ method: 'GET', path: /^\/api\/machineactions$/ }).length > pollsBefore,
      );
      await crashAndRestart(async () => {
        // The device finishes while the bot is down.
        stack.sim.control.setSpeed(20);
      });
    } finally {
      stack.sim.control.setSpeed(20);
    }

    await expectFinishedOnce(request, device, mark);
  });

  it('fetches the results that were being fetched when the bot died', async () => {
    const device = 'web01.contoso.local';
    const mark = callMark();
    const request = await ask(stack, client, `run whoami.ps1 on ${device}`);
    stack.sim.control.injectFault({ method: 'GET', path: /GetLiveResponseResultDownloadLink/, kind: 'hang' });
    await approve(client, request);
    await until(
      'the result link call',
      () =>
        stack.sim.control.calls({ path: /GetLiveResponseResultDownloadLink/ }).slice(-1)[0]?.fault === 'hang',
    );
    expect((await stored(request.requestId)).progress[0]?.transcript).toBeUndefined();

    await crashAndRestart();

    await expectFinishedOnce(request, device, mark);
  });

  it('finishes the card that was being updated in Teams when the bot died', async () => {
    const device = 'desktop-test.contoso.local';
    const mark = callMark();
    const request = await ask(stack, client, `run whoami.ps1 on ${device}`);
    const hung = stack.teams.failNext({ method: 'PUT', hang: true });
    await approve(client, request);
    await until('a card update in flight', () => hung.hits === 1);

    await crashAndRestart();

    await expectFinishedOnce(request, device, mark);
  });

  // Last: it restarts the bot with a one-per-5-seconds run budget, which the tests above do not need.
  it('submits both requests once when the bot died while one waited for the runliveresponse budget', async () => {
    const devices = ['desktop-test2.contoso.local', 'srv-db01.contoso.local'] as const;
    await stack.bot.kill();
    await stack.bot.start({ DEFENDER_RUN_RATE: '1/5s' });
    const submitQueue = new Queue(QUEUES.submit, {
      connection: stack.redis,
      prefix: redisKeys(stack.prefix).bullPrefix(),
    });
    onTestFinished(() => submitQueue.close());
    const mark = callMark();
    const first = await ask(stack, client, `run whoami.ps1 on ${devices[0]}`);
    const second = await ask(stack, client, `run whoami.ps1 on ${devices[1]}`);
    await approve(client, first);
    await until('the first submission', async () => Boolean((await stored(first.requestId)).actionId));
    await approve(client, second);
    await until('the second submission to wait for budget', async () => {
      return (await submitQueue.getJobState(`submit-${second.requestId}`)) === 'delayed';
    });
    expect((await stored(second.requestId)).state).toBe('Approved');

    await crashAndRestart(async () => {
      expect(runPosts(devices[1], mark)).toHaveLength(0);
      expect((await stored(second.requestId)).actionId).toBeUndefined();
    });

    await expectFinishedOnce(first, devices[0], mark);
    await expectFinishedOnce(second, devices[1], mark);
  });
});
