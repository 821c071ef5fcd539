// A fan-out's devices share the bot's Defender budgets with every other request: their runliveresponse calls are
// paced by the run budget and held to the session limit, and a device waiting for the budget shows its place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  askAndApprove,
  cardVersions,
  ROOMY_API_RATE,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

const DEVICES = ['fan-01', 'fan-02', 'fan-03', 'fan-04', 'fan-05'].map(workstation);

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({
    env: { DEFENDER_RUN_RATE: '1/2s', DEFENDER_MAX_SESSIONS: '1', DEFENDER_API_RATE: ROOMY_API_RATE },
    sim: { extraMachines: DEVICES },
  });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('a fan-out under the shared budgets', () => {
  it('sends its devices by the run budget, never more sessions than allowed, no 429, the line shown on the card', async () => {
    const request = await askAndApprove(
      stack,
      client,
      `run minidump.ps1 OfficeClickToRun on ${DEVICES.map((d) => d.computerDnsName.split('.')[0]).join(', ')}`,
    );
    await waitForFinalCard(stack, request.activity.id, /5 of 5 succeeded/, (t) => /Finished at/.test(t));

    const runs = stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ });
    expect(runs.map((c) => c.status)).toEqual([201, 201, 201, 201, 201]);
    expect(stack.sim.control.calls().filter((c) => c.status === 429)).toEqual([]);
    // At most 1 call in any 2 s window (counted 100 ms short for transport jitter, as in pacing.test.ts).
    const times = runs.map((c) => c.realTime).sort((a, b) => a - b);
    for (const start of times)
      expect(times.filter((t) => t >= start && t < start + 1_900).length).toBeLessThanOrEqual(1);
    // Never more than 1 action open at once, in Defender's own (simulated) time (an action outlasts the budget's 2 s).
    const spans = stack.sim.control
      .actions()
      .map((a) => [Date.parse(a.creationDateTimeUtc), Date.parse(a.lastUpdateDateTimeUtc!)] as const);
    for (const [start] of spans)
      expect(spans.filter(([s, e]) => s <= start && start < e).length).toBeLessThanOrEqual(1);
    // The last devices wait seconds for the run budget: their rows showed their place in the line meanwhile.
    expect(
      cardVersions(stack, request.activity.id).some((card) =>
        /\d+(st|nd|rd|th) in line/.test(cardText(card)),
      ),
    ).toBe(true);
  });
});
