// The request record is the truth: when the job behind a request is gone (a crash between the write and the job, a
// Redis failover that lost the last writes, a queue emptied by hand), the reconciler puts it back under its
// deterministic id and the request still reaches its right final card, with exactly one runliveresponse. Real Redis,
// the Defender simulator and fake Teams over HTTP, the bot in this process (RECONCILE_INTERVAL 500ms).
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest } from '../core/request.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { QUEUES, type QueueName } from '../jobs/job-names.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import {
  type AskedRequest,
  actionsOf,
  approve,
  ask,
  askAndApprove,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

let stack: Stack;
let client: TeamsClient;
let requests: RequestStore;
const queues = new Map<QueueName, Queue>();

beforeAll(async () => {
  stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE, RECONCILE_INTERVAL: '500ms' } });
  client = teamsClientFor(stack);
  requests = createRequestStore({ redis: stack.redis, keys: redisKeys(stack.prefix), clock: systemClock });
  for (const name of Object.values(QUEUES))
    queues.set(
      name,
      new Queue(name, { connection: stack.redis, prefix: redisKeys(stack.prefix).bullPrefix() }),
    );
});
afterEach(async () => {
  stack.sim.control.setSpeed(20);
  stack.sim.control.clearFaults();
  for (const queue of queues.values()) await queue.resume();
});
afterAll(async () => {
  await Promise.all([...queues.values()].map((q) => q.close()));
  await stack?.close();
});

function queue(name: QueueName): Queue {
  const found = queues.get(name);
  if (!found) throw new Error(`no queue ${name}`);
  return found;
}

async function stored(requestId: string): Promise<LiveResponseRequest> {
  const request = await requests.get(requestId);
  if (!request) throw new Error(`${requestId} is not in Redis`);
  return request;
}

/** Polls an async `probe` until it is truthy (the fake connector's waitFor reads synchronous probes only). */
async function until(what: string, probe: () => Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** lr_reconciler_repairs_total{kind} as the bot's /metrics shows it. */
async function repairs(kind: string): Promise<number> {
  const text = await (await fetch(`${stack.botUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('lr_reconciler_repairs_total{') && l.includes(`kind="${kind}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** A bot that takes clicks but runs no workers: approvals are written and their jobs queued, nothing runs them. */
async function withoutWorkers(): Promise<void> {
  await stack.stopBot();
  await stack.startBot({}, { workers: false });
  client = teamsClientFor(stack);
}

async function withWorkers(): Promise<void> {
  await stack.stopBot();
  await stack.startBot({}, { workers: true });
  client = teamsClientFor(stack);
}

/** What a lost attempt left in Defender: an action carrying the request's correlation tag, created outside the bot. */
async function createActionAsTheLostAttempt(request: LiveResponseRequest): Promise<void> {
  const response = await fetch(`${stack.sim.url}/api/machines/${request.device.machineId}/runliveresponse`, {
    method: 'POST',
    headers: { Authorization: 'Bearer sim-token', 'Content-Type': 'application/json' },
    body: JSON.stringify({
      Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'whoami.ps1' }] }],
      Comment: `[lr:${request.id}] Approved by Alex Lead in Teams`,
    }),
  });
  expect(response.status).toBe(201);
}

/** The request ends Succeeded from one action: one runliveresponse for its device since `runsBefore`. */
async function expectSucceededOnce(request: AskedRequest, machineId: string, runsBefore = 0): Promise<void> {
  const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Exit code 0/.test(t));
  expect(cardText(card)).toContain('nt authority\\system');
  expect(runCallsFor(stack, machineId).length - runsBefore).toBe(1);
  expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  expect((await stored(request.requestId)).actionId).toBe(actionsOf(stack, request.requestId)[0]?.id);
  // Still the one card message, brought to its end.
  expect(stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(1);
}

describe('the reconciler puts back the job a request needs', () => {
  it('submits once an Approved request whose submit job was lost', async () => {
    await withoutWorkers();
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
    expect(await queue(QUEUES.submit).remove(`submit-${request.requestId}`)).toBe(1);
    expect(await queue(QUEUES.submit).getJobState(`submit-${request.requestId}`)).toBe('unknown');

    await withWorkers();
    await expectSucceededOnce(request, MACHINE_IDS.desktop);
    expect(await repairs('submit')).toBeGreaterThanOrEqual(1);
  });

  it('finds by its correlation tag the action of a Submitting request whose job was lost, instead of sending again', async () => {
    await withoutWorkers();
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    await approve(client, request);
    // The attempt was recorded and reached Defender; then the job was lost (and the answer with it).
    const started = await requests.transition(request.requestId, {
      type: 'submitStarted',
      at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(started.ok && started.request.state).toBe('Submitting');
    await createActionAsTheLostAttempt(await stored(request.requestId));
    await queue(QUEUES.submit).obliterate({ force: true });

    await withWorkers();
    await expectSucceededOnce(request, MACHINE_IDS.desktop2);
  });

  it('does not send again when a failover lost even the record of the attempt (the request reads Approved)', async () => {
    await withoutWorkers();
    const request = await ask(stack, client, 'run whoami.ps1 on web01.contoso.local');
    await approve(client, request);
    // The write "Submitting" was lost with the job, but Defender had already created the action.
    await createActionAsTheLostAttempt(await stored(request.requestId));
    expect((await stored(request.requestId)).state).toBe('Approved');
    await queue(QUEUES.submit).obliterate({ force: true });

    await withWorkers();
    await expectSucceededOnce(request, MACHINE_IDS.web);
  });

  it('follows to its end a running action after every Defender job and the poll schedule were wiped', async () => {
    const device = 'srv-db01.contoso.local';
    // Real time, so the action stays InProgress while the jobs are wiped.
    stack.sim.control.setSpeed(1);
    const request = await askAndApprove(stack, client, `run whoami.ps1 on ${device}`);
    await until(
      'the action InProgress',
      async () => (await stored(request.requestId)).state === 'InProgress',
    );
    await queue(QUEUES.defender).pause();
    await queue(QUEUES.defender).removeJobScheduler('poll-machine-actions');
    await queue(QUEUES.defender).obliterate({ force: true });
    expect(await queue(QUEUES.defender).getJobSchedulersCount()).toBe(0);
    await queue(QUEUES.defender).resume();
    stack.sim.control.setSpeed(20);

    await expectSucceededOnce(request, MACHINE_IDS.server);
  });

  it('brings the card to its final state when the card updates were lost', async () => {
    // Cards wait while the request runs to its end; then every waiting card update is wiped.
    await queue(QUEUES.cards).pause();
    // A card job already running would finish its update after the wipe: wait until none runs.
    await until('no card update running', async () => (await queue(QUEUES.cards).getActiveCount()) === 0);
    const runsBefore = runCallsFor(stack, MACHINE_IDS.desktop).length;
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test');
    await until('the request to finish with its transcript', async () => {
      const r = await stored(request.requestId);
      return r.state === 'Succeeded' && r.progress[0]?.transcript;
    });
    expect(cardText(stack.teams.findCard(stack.teams.history(request.activity.id).at(-1)))).not.toMatch(
      /Succeeded/,
    );
    await queue(QUEUES.cards).obliterate({ force: true });
    await queue(QUEUES.cards).resume();

    await expectSucceededOnce(request, MACHINE_IDS.desktop, runsBefore);
    expect(await repairs('card')).toBeGreaterThanOrEqual(1);
  });

  it('ends with an expired card a request left awaiting approval past its deadline with no expiry job', async () => {
    await stack.stopBot();
    await stack.startBot({ APPROVAL_TIMEOUT: '2s' });
    client = teamsClientFor(stack);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    expect(await queue(QUEUES.defender).remove(`expire-${request.requestId}`)).toBe(1);

    const card = await waitForCard(stack, request.activity.id, /Expired/, 15_000);
    expect(cardText(card)).not.toMatch(/Approve/);
    expect((await stored(request.requestId)).state).toBe('Expired');
    expect(actionsOf(stack, request.requestId)).toHaveLength(0);
    // Put back before the deadline (`expire`), or ended by the reconciler itself once past it (`expired`).
    expect((await repairs('expire')) + (await repairs('expired'))).toBeGreaterThanOrEqual(1);
    await stack.stopBot();
    await stack.startBot({ APPROVAL_TIMEOUT: '30m' });
  });
});
