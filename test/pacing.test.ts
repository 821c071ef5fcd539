// Defender's limits as the bot keeps them: `runliveresponse` calls paced by the shared run budget, a 429 from
// Defender honoured for its Retry-After, and no more live response sessions than configured — with the cards
// saying why a request waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATION_GRACE_MS } from '../jobs/submit-processor.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  cardVersions,
  expectCardsSafe,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const PACE_DEVICES = ['pace-01', 'pace-02', 'pace-03', 'pace-04', 'pace-05'].map(workstation);

describe('the runliveresponse budget', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({
      env: { DEFENDER_RUN_RATE: '2/2s', DEFENDER_API_RATE: ROOMY_API_RATE },
      sim: { extraMachines: PACE_DEVICES },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('spaces five approved requests by the budget, so Defender never answers 429', async () => {
    const requests = [];
    for (const device of PACE_DEVICES)
      requests.push(await ask(stack, client, `run whoami.ps1 on ${device.computerDnsName}`));
    for (const request of requests) await approve(client, request);

    for (const request of requests) await waitForFinalCard(stack, request.activity.id, /Succeeded/);

    const runs = stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ });
    expect(runs.map((c) => c.status)).toEqual([201, 201, 201, 201, 201]);
    expect(stack.sim.control.calls().filter((c) => c.status === 429)).toEqual([]);
    // At most 2 calls in any 2 s window. The window is counted 100 ms short: the budget is taken in the bot
    // and the simulator stamps the call when it arrives, so transport jitter must not decide the test.
    const times = runs.map((c) => c.realTime).sort((a, b) => a - b);
    for (const start of times)
      expect(times.filter((t) => t >= start && t < start + 1_900).length).toBeLessThanOrEqual(2);
    for (const request of requests) expect(actionsOf(stack, request.requestId)).toHaveLength(1);

    // The requests that had to wait said where they were in the queue.
    const waited = requests.filter((r) =>
      cardVersions(stack, r.activity.id).some((c) => /\d+(st|nd|rd|th) in line/.test(cardText(c))),
    );
    expect(waited.length).toBeGreaterThanOrEqual(1);
    for (const request of requests) expectCardsSafe(stack, request.activity.id);
  });

  it('honours a 429 Retry-After from Defender and still creates exactly one action', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    stack.sim.control.injectFault({
      method: 'POST',
      path: 'runliveresponse',
      kind: 'status',
      status: 429,
      retryAfterSeconds: 2,
    });
    await approve(client, request);

    await waitForFinalCard(stack, request.activity.id, /Succeeded/);
    const calls = runCallsFor(stack, MACHINE_IDS.desktop);
    expect(calls.map((c) => c.status)).toEqual([429, 201]);
    // After the Retry-After, and without the grace for an action that might exist: a 429 created nothing.
    const gap = calls[1]!.realTime - calls[0]!.realTime;
    expect(gap).toBeGreaterThanOrEqual(2_000);
    expect(gap).toBeLessThan(CREATION_GRACE_MS);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  });
});

describe('the live response session limit', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({ env: { DEFENDER_MAX_SESSIONS: '1', DEFENDER_API_RATE: ROOMY_API_RATE } });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('queues a second request until the first session ends, saying so on its card, then runs it', async () => {
    const first = await askAndApprove(stack, client, 'run minidump.ps1 OfficeClickToRun on desktop-test');
    const second = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test2');

    const queued = await waitForFinalCard(
      stack,
      second.activity.id,
      /Queued: all 1 live response sessions are in use/,
    );
    expect(cardText(queued)).toMatch(/1st in line/);
    expect(actionsOf(stack, second.requestId)).toHaveLength(0);

    await waitForFinalCard(stack, first.activity.id, /Succeeded/);
    await waitForFinalCard(stack, second.activity.id, /Succeeded/);
    const [firstAction] = actionsOf(stack, first.requestId);
    const secondRuns = runCallsFor(stack, MACHINE_IDS.desktop2);
    expect(secondRuns.map((c) => c.status)).toEqual([201]);
    // Simulated time: the second session started only after the first had ended.
    expect(Date.parse(secondRuns[0]!.time)).toBeGreaterThanOrEqual(
      Date.parse(firstAction!.lastUpdateDateTimeUtc!),
    );
    expect(actionsOf(stack, second.requestId)).toHaveLength(1);
    expect(cardText(cardVersions(stack, second.activity.id).at(-1))).not.toMatch(/Queued:/);
  });
});

describe("Teams' limit per app", () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack();
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 100 messages sent at once without going over 50 requests a second to Teams', async () => {
    const threads = Array.from({ length: 100 }, () => channelThread());
    const statuses = await Promise.all(
      threads.map((conversation) =>
        client.sendMessage({ conversation, from: USERS.requester, text: 'help' }),
      ),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Every thread got its one answer, and Teams (the fake enforces 50/s per app) never had to refuse one.
    for (const thread of threads) expect(stack.teams.activities(thread.id)).toHaveLength(1);
    expect(stack.teams.throttles()).toEqual([]);
    expect(stack.teams.appPeakPerSecond()).toBeLessThanOrEqual(50);
  });
});
