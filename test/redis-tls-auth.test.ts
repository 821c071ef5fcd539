// Issue 10 point 5: the bot on a Redis that wants a password, one that speaks TLS only (redis-server 7 with a
// certificate from a throw-away CA made by openssl), and a cluster that wants both — each configured through the bot's
// REDIS_* settings alone, each taking a request from message to its final card.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { createRedisConnection } from '../app/redis-connection.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import {
  makeTlsFiles,
  type RedisNode,
  startRedisCluster,
  startRedisNode,
  tempDir,
} from './support/redis-cluster.js';
import { startStackOn } from './support/redis-stack.js';
import { actionsOf, approve, ask } from './support/request-steps.js';
import type { Stack } from './support/start-stack.js';

const PASSWORD = 'correct-horse-battery-staple';

let temp: Awaited<ReturnType<typeof tempDir>>;
let tls: Awaited<ReturnType<typeof makeTlsFiles>>;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  temp = await tempDir();
  tls = await makeTlsFiles(temp.dir);
});
afterAll(async () => {
  for (const close of cleanup.reverse()) await close().catch(() => undefined);
  await temp?.remove();
});

async function node(options: Parameters<typeof startRedisNode>[1]): Promise<RedisNode> {
  const started = await startRedisNode(temp.dir, options);
  cleanup.push(() => started.kill());
  return started;
}

async function stackOn(redisEnv: Record<string, string>): Promise<Stack> {
  const stack = await startStackOn(redisEnv);
  cleanup.push(() => stack.close());
  return stack;
}

/** A whoami.ps1 request asked, approved and run to its final card, once. */
async function runOneRequest(stack: Stack): Promise<void> {
  const client = teamsClientFor(stack);
  const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
  expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
  const final = await waitForCard(stack, request.activity.id, /Exit code 0/, 30_000);
  expect(cardText(final)).toContain('nt authority\\system');
  expect(actionsOf(stack, request.requestId)).toHaveLength(1);
}

/** What the bot's own Redis connection makes of `redisEnv`: PONG, or the errors Redis or the socket gave. */
async function ping(redisEnv: Record<string, string>): Promise<string> {
  const config = readConfig({ APPROVERS: 'alex.lead@contoso.com', DEFENDER_ACCESS_TOKEN: 't', ...redisEnv });
  const redis = createRedisConnection(config.redis, 'state');
  const seen: string[] = [];
  redis.on('error', (error: Error) => seen.push(error.message));
  try {
    return await redis.ping();
  } catch (error) {
    return [String(error), ...seen].join('; ');
  } finally {
    redis.disconnect();
  }
}

describe('a Redis that wants a password', () => {
  it('runs a request with REDIS_PASSWORD; a wrong one is refused', async () => {
    const redis = await node({ password: PASSWORD });
    const stack = await stackOn({ REDIS_URL: `redis://127.0.0.1:${redis.port}`, REDIS_PASSWORD: PASSWORD });
    await runOneRequest(stack);

    expect(await ping({ REDIS_URL: `redis://:not-the-password@127.0.0.1:${redis.port}` })).toMatch(
      /WRONGPASS/,
    );
  }, 60_000);
});

describe('a Redis that speaks TLS only', () => {
  it('runs a request over rediss:// trusting REDIS_TLS_CA_FILE, with the password in the URL', async () => {
    const redis = await node({ tls, password: PASSWORD });
    const stack = await stackOn({
      REDIS_URL: `rediss://:${PASSWORD}@127.0.0.1:${redis.port}`,
      REDIS_TLS_CA_FILE: tls.ca,
    });
    await runOneRequest(stack);

    // The same server over plain redis:// gets no answer: the request above really went over TLS.
    expect(await ping({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis.port}` })).not.toBe('PONG');
    // And without the CA the server's certificate is not trusted.
    expect(await ping({ REDIS_URL: `rediss://:${PASSWORD}@127.0.0.1:${redis.port}` })).toMatch(
      /certificate/i,
    );
  }, 60_000);

  it('runs a request on a cluster over TLS with a password (REDIS_TLS=true)', async () => {
    const cluster = await startRedisCluster({ tls: true, password: PASSWORD });
    cleanup.push(() => cluster.close());
    const files = cluster.tlsFiles!;
    const stack = await stackOn({
      REDIS_CLUSTER_NODES: cluster.seeds,
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: files.ca,
      REDIS_PASSWORD: PASSWORD,
    });
    await runOneRequest(stack);
  }, 90_000);
});
