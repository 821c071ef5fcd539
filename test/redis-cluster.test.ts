// Issue 10 point 5: the bot on a Redis Cluster (three masters, one replica each, started by the test with Debian's
// redis-server), selected by REDIS_CLUSTER_NODES alone. Every key of a deployment — requests, indexes, audit, budgets,
// sessions and BullMQ's queues — shares the prefix's hash tag, so each script and MULTI runs on one node; a master
// failing over in the middle of a burst loses no request and submits none twice.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import { workstation } from '../simulator/seed-data.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { type RedisCluster, startRedisCluster } from './support/redis-cluster.js';
import { startStackOn } from './support/redis-stack.js';
import { type AskedRequest, actionsOf, approve, ask, runCallsFor } from './support/request-steps.js';
import type { Stack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';

const BURST = Array.from({ length: 12 }, (_, i) => `cluster-ws-${String(i + 1).padStart(2, '0')}`);

/** Defender's limits on the simulator's clock (20× faster): the bot's budgets match them, so no call is refused. */
const COMPRESSED_RATES = { DEFENDER_RUN_RATE: '10/3s', DEFENDER_API_RATE: '100/3s,1500/180s' };

let cluster: RedisCluster;
let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  stack = await startStackOn(
    // REDIS_URL points nowhere: with REDIS_CLUSTER_NODES set it must not be used.
    { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: 'redis://127.0.0.1:1' },
    { env: COMPRESSED_RATES, sim: { extraMachines: BURST.map((name) => workstation(name)) } },
  );
  client = teamsClientFor(stack);
}, 60_000);
afterAll(async () => {
  // A bot stuck on an unreachable cluster must not keep the cluster's servers running.
  await Promise.race([stack?.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  await cluster?.close();
});

/** The card ends as a successful whoami.ps1 run, from exactly one Defender action and one runliveresponse (`device` is the short name). */
async function expectFinishedOnce(request: AskedRequest, device: string): Promise<void> {
  const final = await waitForCard(stack, request.activity.id, /Exit code 0/, 40_000);
  expect(cardText(final)).toContain('Succeeded');
  expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  const posts = runCallsFor(stack, workstation(device).id);
  expect(posts.map((c) => c.status)).toEqual([201]);
}

/** Every key on every master, by node port. */
async function keysByNode(): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const node of cluster.nodes.filter((n) => n.running)) {
    const redis: Redis = node.client();
    try {
      if (!String(await redis.call('ROLE')).startsWith('master')) continue;
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', '*', 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      found.set(node.port, keys);
    } finally {
      redis.disconnect();
    }
  }
  return found;
}

describe('the bot on a three-master Redis Cluster', () => {
  it('takes a request from message to approval, Defender and its final card, with every key in one hash-tag slot', async () => {
    expect(stack.prefix).toMatch(/^\{lrtest-[^}]+\}$/);
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    expect(cardText(await approve(client, request))).toMatch(/Approved by Alex Lead/);
    const final = await waitForCard(stack, request.activity.id, /Exit code 0/, 30_000);
    expect(cardText(final)).toContain('nt authority\\system');
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expect((await stack.redis.hget(`${stack.prefix}:req:${request.requestId}`, 'v')) !== null).toBe(true);

    const byNode = await keysByNode();
    const holding = [...byNode].filter(([, keys]) => keys.length > 0);
    // One node holds them all, and they are the bot's and BullMQ's keys under the tagged prefix.
    expect(holding).toHaveLength(1);
    const keys = holding[0]![1];
    expect(keys.every((key) => key.startsWith(`${stack.prefix}:`))).toBe(true);
    expect(keys.some((key) => key.startsWith(`${stack.prefix}:bull:`))).toBe(true);
    expect(keys.some((key) => key.startsWith(`${stack.prefix}:audit`))).toBe(true);
    const master = await cluster.masterOf(stack.prefix);
    expect(holding[0]![0]).toBe(master.port);
  }, 60_000);

  it('fails the master over in the middle of a burst: every request reaches its final card with one runliveresponse', async () => {
    const asked = await Promise.all(BURST.map((device) => ask(stack, client, `run whoami.ps1 on ${device}`)));
    await Promise.all(
      asked.map(async (request) => expect(cardText(await approve(client, request))).toMatch(/Approved/)),
    );
    // Twelve submissions at 10 per (compressed) minute: some are in Defender, some still wait for budget.
    expect(await stack.redis.zcard(redisKeys(stack.prefix).queue())).toBeGreaterThan(0);
    const moved = await cluster.failover(stack.prefix);
    expect(moved.to).not.toBe(moved.from);

    await Promise.all(asked.map((request, i) => expectFinishedOnce(request, BURST[i]!)));
    // The budget held across the failover: Defender refused nothing.
    expect(stack.sim.control.calls().filter((c) => c.status === 429)).toEqual([]);
  }, 90_000);
});
