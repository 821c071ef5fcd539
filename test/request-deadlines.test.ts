// Requests stuck past their state's deadline end with a clear final card, exactly once: one Defender never accepted
// (runliveresponse answering 5xx for ever) ends "Could not be submitted… Nothing ran on the device." and is not sent
// again after Defender recovers; one Pending on an offline device past PENDING_DEADLINE is cancelled in Defender.
// Real Redis, the Defender simulator and fake Teams over HTTP.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  actionsOf,
  askAndApprove,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';

let stack: Stack;
let requests: RequestStore;

beforeAll(async () => {
  stack = await startStack({
    env: {
      DEFENDER_API_RATE: ROOMY_API_RATE,
      RECONCILE_INTERVAL: '500ms',
      SUBMIT_DEADLINE: '3s',
      PENDING_DEADLINE: '3s',
    },
  });
  requests = createRequestStore({ redis: stack.redis, keys: redisKeys(stack.prefix), clock: systemClock });
});
afterEach(() => {
  stack.sim.control.clearFaults();
});
afterAll(async () => {
  await stack?.close();
});

describe('a request past its deadline', () => {
  it('ends "could not be submitted" with Defender’s last answer when runliveresponse answers 5xx for ever, and is not sent after Defender recovers', async () => {
    stack.sim.control.injectFault({
      method: 'POST',
      path: 'runliveresponse$',
      kind: 'status',
      status: 503,
      times: 'always',
    });
    const client = teamsClientFor(stack);
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test');

    const card = await waitForFinalCard(stack, request.activity.id, /Could not be submitted/);
    const text = cardText(card);
    expect(text).toMatch(/Could not be submitted to Defender within 3s: Defender answered 503/);
    expect(text).toContain('Nothing ran on the device.');
    const attempts = runCallsFor(stack, MACHINE_IDS.desktop).length;
    expect(attempts).toBeGreaterThanOrEqual(1);
    const ended = await requests.get(request.requestId);
    expect(ended?.state).toBe('Failed');
    expect(ended?.failure?.code).toBe('NotSubmitted');
    const trail = await requests.auditTrail(request.requestId);
    expect(trail.find((e) => e.action === 'failed')?.detail).toMatch(/not accepted by Defender within 3s/);

    // Defender recovers: nothing is sent again, whatever job or reconciler run comes next.
    stack.sim.control.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(attempts);
    expect(actionsOf(stack, request.requestId)).toHaveLength(0);
    expect((await requests.get(request.requestId))?.state).toBe('Failed');
  }, 60_000);

  it('cancels in Defender an action left Pending on an offline device past PENDING_DEADLINE', async () => {
    const client = teamsClientFor(stack);
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on laptop-offline');
    const card = await waitForFinalCard(stack, request.activity.id, /Cancelled/);
    expect(cardText(card)).toMatch(/LR Bot: Pending \(device offline\) past the 3s deadline/);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)[0]?.status).toBe('Cancelled');
    const trail = await requests.auditTrail(request.requestId);
    expect(trail.find((e) => e.action === 'cancel')?.detail).toMatch(/past the 3s deadline/);
  }, 60_000);
});
