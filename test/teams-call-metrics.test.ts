// Teams' 429s are counted wherever they happen, not only on card updates: a turn's reply that Teams throttles (and the
// connector's own retry policy sends again) shows in lr_teams_calls_total{status="429"}. Real Redis, the Defender
// simulator and the fake Teams connector over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { say } from './support/chat-helpers.js';
import { teamsClientFor } from './support/flow-helpers.js';
import { type Stack, startStack } from './support/start-stack.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

/** lr_teams_calls_total{call,status} as /metrics shows it (0 when not printed yet). */
async function teamsCalls(call: string, status: string): Promise<number> {
  const text = await (await fetch(`${stack.botUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('lr_teams_calls_total{') &&
        l.includes(`call="${call}"`) &&
        l.includes(`status="${status}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('Teams calls in the metrics', () => {
  it('counts a 429 Teams answers to a turn’s reply, and the reply that got through after it', async () => {
    const before = await teamsCalls('POST activities', '429');
    const okBefore = await teamsCalls('POST activities', '2xx');
    stack.teams.failNext({ method: 'POST', pathIncludes: '/activities', status: 429, retryAfterSeconds: 1 });

    const { replies } = await say(stack, teamsClientFor(stack), channelThread(), USERS.requester, 'help');

    // The connector retried after Retry-After: the user still got the answer.
    expect(replies.join('\n')).toMatch(/What I understand/);
    expect(await teamsCalls('POST activities', '429')).toBe(before + 1);
    expect(await teamsCalls('POST activities', '2xx')).toBeGreaterThanOrEqual(okBefore + 1);
  });
});
