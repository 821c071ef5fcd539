// Issue 10 point 4: the bot scaled out as operators run it — two HTTP-only replicas behind a round-robin load
// balancer and two worker-only processes, all on one Redis prefix — takes a burst of requests while one HTTP replica
// and one worker are SIGKILLed half-way. Every request reaches its final card with one runliveresponse, and the
// budgets shared through Redis keep every process together under Defender's and Teams' limits (the simulator and the
// fake connector answer 429 to any call over them; none is expected).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import { workstation } from '../simulator/seed-data.js';
import { type BotReplica, startReplica } from './support/bot-replicas.js';
import { cardText, requestIdOf } from './support/flow-helpers.js';
import { actionsOf, runCallsFor } from './support/request-steps.js';
import { type RoundRobinProxy, startRoundRobinProxy } from './support/round-robin-proxy.js';
import { REDIS_URL, type Stack, startTestServices } from './support/start-stack.js';
import { createTeamsClient, type TeamsClient } from './support/teams-client.js';
import { channelThread, registerFixtures, USERS } from './support/teams-fixtures.js';

const DEVICES = Array.from({ length: 24 }, (_, i) => `scale-ws-${String(i + 1).padStart(2, '0')}`);
const FIRST = DEVICES.slice(0, 12);
const SECOND = DEVICES.slice(12);

let services: Pick<Stack, 'sim' | 'teams'>;
let replicas: BotReplica[] = [];
let proxy: RoundRobinProxy;
let client: TeamsClient;
let redis: Redis;
const prefix = `lrscale-${process.pid}-${Date.now().toString(36)}`;

beforeAll(async () => {
  services = await startTestServices({ extraMachines: DEVICES.map((name) => workstation(name)) });
  registerFixtures(services.teams);
  redis = new Redis(REDIS_URL);
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: services.sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92,sam.oncall@contoso.com',
    MicrosoftAppId: '',
    MicrosoftAppPassword: '',
    POLL_INTERVAL: '300ms',
    // A killed worker's jobs are taken over after this long.
    JOB_LOCK_DURATION: '2s',
    // Defender's limits on the simulator's clock (20× faster; 10 per minute is 10 per 3 s) that every process
    // together must keep. The budget widens each window for the bot's own skew between taking a slot and its call
    // reaching Defender, which is real time and not compressed: production's one-minute windows get 1.8 s, a 3 s
    // window only the 120 ms floor, less than four bot processes on this busy 2-core host can lag. Half a second more
    // keeps the margin below production's.
    DEFENDER_RUN_RATE: '10/3500ms',
    DEFENDER_API_RATE: '100/3500ms,1500/180s',
    AUDIT_SINK: 'off',
    LOG_LEVEL: 'info',
  };
  replicas = await Promise.all([
    startReplica('http-only', env),
    startReplica('http-only', env),
    startReplica('worker-only', env),
    startReplica('worker-only', env),
  ]);
  proxy = await startRoundRobinProxy(replicas.filter((r) => r.mode === 'http-only').map((r) => r.url));
  client = createTeamsClient({ botUrl: `${proxy.url}/api/messages`, serviceUrl: services.teams.url });
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill()));
  await proxy?.close();
  await Promise.all([services?.sim.close(), services?.teams.close()]);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
});

interface Asked {
  device: string;
  conversation: ReturnType<typeof channelThread>;
  activityId: string;
  requestId: string;
}

/** Asks in a thread of its own through the load balancer and waits for the approval card. */
async function ask(device: string): Promise<Asked> {
  const conversation = channelThread();
  const { teams } = services;
  expect(
    await client.sendMessage({ conversation, from: USERS.requester, text: `run whoami.ps1 on ${device}` }),
  ).toBe(200);
  const activity = await teams.waitFor(
    () => teams.activities(conversation.id).find((a) => teams.findCard(a)),
    { description: `the approval card for ${device}`, timeoutMs: 20_000 },
  );
  return { device, conversation, activityId: activity.id, requestId: requestIdOf(teams.findCard(activity)) };
}

async function approve(request: Asked): Promise<void> {
  const click = await client.invokeAction({
    conversation: request.conversation,
    from: USERS.approver,
    replyToId: request.activityId,
    verb: 'lr.approve',
    data: { requestId: request.requestId },
  });
  expect(click.status).toBe(200);
  expect(cardText(click.card)).toMatch(/Approved by Alex Lead/);
}

async function finalCard(request: Asked): Promise<string> {
  const { teams } = services;
  return teams.waitFor(
    () => {
      const text = cardText(teams.findCard(teams.history(request.activityId).at(-1)));
      return /Exit code 0/.test(text) ? text : undefined;
    },
    { description: `the final card of ${request.requestId} (${request.device})`, timeoutMs: 45_000 },
  );
}

function replica(mode: BotReplica['mode'], index: number): BotReplica {
  const found = replicas.filter((r) => r.mode === mode)[index];
  if (!found) throw new Error(`no ${mode} replica ${index}`);
  return found;
}

describe('two HTTP replicas behind a load balancer and two workers', () => {
  it('finishes every request of a burst once while an HTTP replica and a worker are killed half-way', async () => {
    const first = await Promise.all(FIRST.map(ask));
    await Promise.all(first.map(approve));
    // Twelve approvals at 10 runliveresponse per (compressed) minute: some are in Defender, some wait for budget.
    expect(await redis.zcard(redisKeys(prefix).queue())).toBeGreaterThan(0);
    await Promise.all([replica('http-only', 0).kill(), replica('worker-only', 0).kill()]);

    // The balancer now finds one HTTP replica; the surviving worker takes over the killed one's jobs.
    const second = await Promise.all(SECOND.map(ask));
    await Promise.all(second.map(approve));

    const all = [...first, ...second];
    const finals = await Promise.all(all.map(finalCard));
    for (const text of finals) expect(text).toContain('Succeeded');
    for (const request of all) {
      expect(actionsOf(services as Stack, request.requestId)).toHaveLength(1);
      // Exactly one runliveresponse reached Defender for each device: no duplicate, no refused attempt.
      const posts = runCallsFor(services as Stack, workstation(request.device).id);
      expect(posts.map((c) => c.status)).toEqual([201]);
    }
    // Defender's and Teams' budgets held across the four processes.
    expect(services.sim.control.calls().filter((c) => c.status === 429)).toEqual([]);
    expect(services.teams.throttles()).toEqual([]);
    // Both HTTP replicas took traffic before one was killed, and no replica crashed on its own.
    expect(Object.values(proxy.served()).every((n) => n > 0)).toBe(true);
    expect(replicas.flatMap((r) => r.unexpectedExits())).toEqual([]);
  }, 90_000);
});
