// Teams failing the bot's card updates (throttling, server errors) never loses the card's final state and never
// makes the bot post the card again; and the health check operators point their probes at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import { actionsOf, askAndApprove, ROOMY_API_RATE, waitForFinalCard } from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE } });
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('Teams failures on card updates', () => {
  it('brings the card to its final state through a 429 and server errors, without posting it twice', async () => {
    const throttled = stack.teams.failNext({ method: 'PUT', status: 429, retryAfterSeconds: 1 });
    const broken = stack.teams.failNext({ method: 'PUT', status: 500, times: 3 });
    const request = await askAndApprove(stack, client, 'run whoami.ps1 on desktop-test');

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('nt authority\\system');
    expect(throttled.hits).toBe(1);
    expect(broken.hits).toBe(3);

    const log = stack.teams.requestLog().filter((r) => r.conversationId === request.thread.id);
    // One card message in the thread, only ever updated in place.
    expect(
      log.filter((r) => r.operation === 'sendToConversation' || r.operation === 'replyToActivity'),
    ).toHaveLength(1);
    expect(stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(1);
    // The update after the 429 waited for its Retry-After.
    const updates = log.filter((r) => r.operation === 'updateActivity');
    const at429 = updates.findIndex((r) => r.outcome === 429);
    expect(at429).toBeGreaterThanOrEqual(0);
    expect(updates[at429 + 1]!.at - updates[at429]!.at).toBeGreaterThanOrEqual(1_000);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  });
});

describe('Teams failing the approval card itself', () => {
  it('closes a request whose card Teams refused, so it can never be approved or run', async () => {
    const thread = channelThread();
    const submissions = stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ }).length;
    // botbuilder retries a failed send itself (up to 3 more times): fail them all.
    const refused = stack.teams.failNext({
      method: 'POST',
      pathIncludes: '/activities',
      status: 500,
      times: 8,
    });
    expect(
      await client.sendMessage({
        conversation: thread,
        from: USERS.requester,
        text: 'run whoami.ps1 on desktop-test',
      }),
    ).toBeLessThan(600);
    await stack.teams.waitFor(() => refused.hits >= 4, { description: 'the card send to fail' });
    // The channel's requests (the key is per channel); this thread's is the one made here.
    const ids = await stack.redis.zrange(`${stack.prefix}:conv:${thread.id.split(';')[0]}`, 0, -1);
    const docs = await Promise.all(ids.map((id) => stack.redis.hget(`${stack.prefix}:req:${id}`, 'doc')));
    const mine = docs.map((d) => JSON.parse(d ?? '{}')).filter((r) => r.conversationId === thread.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ state: 'Cancelled' });
    expect(stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ })).toHaveLength(submissions);
  });
});

describe('health', () => {
  it('answers /healthz with 200 while Redis is reachable', async () => {
    const response = await fetch(`${stack.botUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', redis: 'up' });
  });
});
