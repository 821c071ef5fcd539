// Issue 9: names typed at the same moment share Defender look-ups, and those calls must stay under Defender's OData
// node limit and 2 KB query strings; before, 29 of 30 simultaneous requests failed on a 400 or 414.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workstation } from '../simulator/seed-data.js';
import { askFor, cardText, teamsClientFor } from './support/flow-helpers.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const DEVICES = Array.from({ length: 30 }, (_, i) => `finance-reporting-ws-${String(i).padStart(2, '0')}`);

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({ sim: { extraMachines: DEVICES.map((name) => workstation(name)) } });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('simultaneous requests for different devices', () => {
  it('gives each of 30 requests made at once its approval card, with device look-ups Defender accepts', async () => {
    const before = stack.sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ }).length;
    // Defender is slow to answer the first look-up, so the other names queue behind it and share the next calls.
    stack.sim.control.injectFault({ kind: 'hang', path: /^\/api\/machines$/, delayMs: 1_500, times: 1 });
    const asked = await Promise.all(
      DEVICES.map((device) =>
        askFor(stack, client, channelThread(), USERS.requester, `run whoami.ps1 on ${device}`),
      ),
    );
    asked.forEach(({ card }, i) => {
      expect(cardText(card)).toContain(`${DEVICES[i]}.contoso.local`);
    });
    const lookups = stack.sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ }).slice(before);
    expect(lookups.map((c) => c.status)).toEqual(lookups.map(() => 200));
    // Shared calls, not one per request: the first alone, the 29 that queued behind it in about two.
    expect(lookups.length).toBeLessThan(8);
  });
});
