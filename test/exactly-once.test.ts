// Exactly one Defender action per approved request, whatever the network and Defender do: a lost answer to
// `runliveresponse` is recovered by the correlation tag in the Comment, and Defender merging a request into an
// action already on the device is followed only when that action is the bot's own.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  expectCardsSafe,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  startActionElsewhere,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE } });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});
afterEach(() => {
  stack.sim.control.setMerge('off');
  stack.sim.control.setInvisibleAfterCreate(0);
  stack.sim.control.clearFaults();
});

/** Lookups of a device's actions: what the bot does instead of sending again. */
function actionLookups(machineId: string) {
  return stack.sim.control
    .calls({ method: 'GET', path: /^\/api\/machineactions$/ })
    .filter((c) => (c.query.$filter ?? '').includes(`machineId eq '${machineId}'`));
}

describe('exactly one action per approved request', () => {
  it('recovers the action of a lost runliveresponse answer by its correlation tag instead of sending again', async () => {
    stack.sim.control.injectFault({ method: 'POST', path: 'runliveresponse', kind: 'loseResponse' });
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test');

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('nt authority\\system');
    const runs = runCallsFor(stack, MACHINE_IDS.desktop);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.fault).toBe('loseResponse');
    expect(actionLookups(MACHINE_IDS.desktop).length).toBeGreaterThanOrEqual(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('follows its own action when Defender merges a re-sent request into it', async () => {
    // The answer is lost and Defender does not list the new action yet, so the bot cannot tell it exists and, after
    // the grace time, sends again; Defender merges the second request into the first action, still Pending on
    // the offline laptop.
    stack.sim.control.setInvisibleAfterCreate(24 * 3_600_000);
    stack.sim.control.setMerge(1);
    stack.sim.control.injectFault({ method: 'POST', path: 'runliveresponse', kind: 'loseResponse' });
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on laptop-offline');

    await stack.teams.waitFor(() => runCallsFor(stack, MACHINE_IDS.offline).length === 2, {
      description: 'the bot to send again after finding nothing',
      timeoutMs: 30_000,
    });
    stack.sim.control.setInvisibleAfterCreate(0);
    await waitForFinalCard(stack, request.activity.id, /Pending on the device/);
    stack.sim.control.setOnline('laptop-offline.contoso.local', true);

    await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Exit code 0/.test(t));
    expect(runCallsFor(stack, MACHINE_IDS.offline).map((c) => c.status)).toEqual([null, 201]);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    stack.sim.control.setOnline('laptop-offline.contoso.local', false);
  }, 45_000);

  it('does not adopt a session someone else started when Defender merges the request into it', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on srv-db01');
    const foreign = await startActionElsewhere(stack, MACHINE_IDS.server, 'minidump.ps1');
    stack.sim.control.setMerge(1);
    await approve(client, request);

    const card = await waitForFinalCard(stack, request.activity.id, /Failed/);
    const text = cardText(card);
    expect(text).toMatch(/already has a live response session running/);
    expect(text).not.toContain('Exit code');
    expect(runCallsFor(stack, MACHINE_IDS.server).map((c) => c.status)).toEqual([201, 201]);
    expect(stack.sim.control.actions()).toContainEqual(expect.objectContaining({ id: foreign.id }));
    expect(actionsOf(stack, request.requestId)).toHaveLength(0);
    // The other session is left alone: not cancelled, not shown as this request's.
    expect(stack.sim.control.calls({ method: 'POST', path: /cancel/ })).toHaveLength(0);
  });
});
