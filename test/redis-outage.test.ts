// Redis goes away with a request in flight and comes back on the same port and data: the bot keeps running, says so
// on /healthz, and finishes the request with one Defender action. The bot runs as `tsx app/main.ts` in a child
// process against a redis-server of the test's own (append-only file in a temporary directory).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import { createRequestStore } from '../core/request-store.js';
import { type ProcessStack, startProcessStack } from './support/bot-process.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { approve, ask } from './support/request-steps.js';

let redisServer: RedisServer | undefined;
let stack: ProcessStack | undefined;

beforeAll(async () => {
  redisServer = await startRedisServer();
  stack = await startProcessStack({ redisUrl: redisServer.url });
});
afterAll(async () => {
  await stack?.close();
  await redisServer?.close();
});

async function health(url: string): Promise<number> {
  return fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) })
    .then((res) => res.status)
    .catch(() => 0);
}

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}\n--- bot output ---\n${stack?.bot.output().split('\n').slice(-60).join('\n')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Redis restarted under a running bot', () => {
  it('reports the outage on /healthz, recovers without a restart and finishes the request once', async () => {
    if (!stack || !redisServer) throw new Error('not started');
    const { bot, sim } = stack;
    const client = teamsClientFor(stack);
    const requests = createRequestStore({
      redis: stack.redis,
      keys: redisKeys(stack.prefix),
      clock: systemClock,
    });
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    // Real time, so the action is still running when Redis goes away.
    sim.control.setSpeed(1);
    try {
      await approve(client, request);
      await until(
        'the action to be InProgress',
        async () => (await requests.get(request.requestId))?.state === 'InProgress',
      );

      const outputBefore = bot.linesWritten();
      await redisServer.stop();
      await until('/healthz to say 503', async () => (await health(bot.url)) === 503);
      // The device finishes while Redis is away; the bot keeps trying to poll, fetch and update meanwhile.
      sim.control.setSpeed(20);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await health(bot.url)).toBe(503);
      expect(bot.running).toBe(true);

      await redisServer.start();
      await until('/healthz to say 200 again', async () => (await health(bot.url)) === 200);
      expect(bot.unexpectedExits()).toEqual([]);

      const final = await waitForCard(stack, request.activity.id, /Exit code 0/);
      expect(cardText(final)).toContain('Succeeded');
      expect(
        sim.control.actions().filter((a) => a.requestorComment.includes(`[lr:${request.requestId}]`)),
      ).toHaveLength(1);
      expect(sim.control.calls({ method: 'POST', path: /\/runliveresponse$/ })).toHaveLength(1);
      const cards = stack.teams.activities(request.thread.id).filter((a) => stack?.teams.findCard(a));
      expect(cards.map((a) => a.id)).toEqual([request.activity.id]);
      // Errors while Redis was away are logged as JSON lines, never printed raw as unhandled errors are.
      const raw = bot
        .output(outputBefore)
        .split('\n')
        .filter((line) => !line.startsWith('{'));
      expect(raw).toEqual([]);
    } finally {
      sim.control.setSpeed(20);
    }
    expect(bot.running).toBe(true);
    expect(bot.unexpectedExits()).toEqual([]);
  });
});
