// Requests queued behind the runliveresponse budget do not hold live response sessions while they wait, so the
// cards tell the true reason for waiting and the sessions stay free for the requests that can start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  approve,
  ask,
  cardVersions,
  ROOMY_API_RATE,
  sleep,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

const DEVICES = ['queue-01', 'queue-02', 'queue-03'].map(workstation);

describe('waiting for the run budget', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({
      env: { DEFENDER_RUN_RATE: '1/3s', DEFENDER_MAX_SESSIONS: '2', DEFENDER_API_RATE: ROOMY_API_RATE },
      sim: { extraMachines: DEVICES },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('holds no session, so the cards never say all sessions are in use when they are not', async () => {
    const requests = [];
    for (const device of DEVICES)
      requests.push(await ask(stack, client, `run whoami.ps1 on ${device.computerDnsName}`));
    for (const request of requests) await approve(client, request);

    await stack.teams.waitFor(() => stack.sim.control.actions().length === 1, {
      description: 'the first submission',
    });
    await sleep(500);
    // One budget slot per 3 s: only the submitted request holds a session meanwhile.
    expect(stack.sim.control.actions()).toHaveLength(1);
    expect(await stack.redis.hlen(`${stack.prefix}:sessions`)).toBeLessThanOrEqual(1);

    for (const request of requests) await waitForFinalCard(stack, request.activity.id, /Succeeded/);
    for (const request of requests)
      for (const card of cardVersions(stack, request.activity.id))
        expect(cardText(card)).not.toMatch(/sessions are in use/);
  });
});
