// Runs the burst against the real bot: the bot in its own process (HTTP, Redis, BullMQ workers), the Defender
// simulator on the compressed clock and the fake Teams connector enforcing Teams' per-thread limits, all on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { CARD_VERBS } from '../cards/card-verbs.js';
import type { MachineAction } from '../defender/types.js';
import type { CallRecord } from '../simulator/defender-simulator.js';
import {
  type ConnectorRequest,
  type ConversationRateStats,
  type FakeTeamsConnector,
  startFakeTeamsConnector,
  type ThrottleRecord,
} from '../test/support/fake-teams-connector.js';
import { createTeamsClient } from '../test/support/teams-client.js';
import {
  type ChannelConversation,
  channelThread,
  registerFixtures,
  TEAM,
  type TeamsChannel,
  USERS,
} from '../test/support/teams-fixtures.js';
import { cardRequestId, cardSettled, cardState, FINAL_STATES } from './card-reading.js';
import { type BotProcess, realTimeOf, startBotProcess, startSimProcess } from './processes.js';
import {
  botLimitsEnv,
  CHANNELS,
  deviceName,
  LIMITS,
  PACED_PER_SECOND,
  PACED_REQUESTS,
  REQUESTS,
  requestText,
  SPEED,
  THREADS_PER_CHANNEL,
} from './scenario.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Commands per request (RunScript + GetFile), each with a result. */
const COMMANDS = 2;

export interface DrivenRequest {
  index: number;
  device: string;
  machineId: string;
  threadId: string;
  /** When the requester first asked; `sentAt` is the attempt that got the card. */
  firstSentAt: number;
  sentAt: number;
  /** Messages sent: more than one when the bot refused and said to try again. */
  attempts: number;
  /** The bot's refusals before the card, as it worded them. */
  refusals: string[];
  turnStatus?: number;
  turnMs?: number;
  /** Text the bot answered instead of a card (a refusal). */
  reply?: string;
  cardActivityId?: string;
  /** When the approval card reached Teams. */
  cardAt?: number;
  requestId?: string;
  clickAt?: number;
  clickMs?: number;
  clickStatus?: number;
  approvedOnClick?: boolean;
  /** When the card first showed a final state, and when it had every result too. */
  finalCardAt?: number;
  settledAt?: number;
  finalState?: string;
  cardVersions?: number;
  /** Card states in the order Teams received them, with when (ms after the message). */
  cardTimeline?: { state: string; atMs: number }[];
  /** "Queued: …" notices the card showed, in order, without repeats. */
  queueNotices?: string[];
  actionId?: string;
  /** Real time the simulator accepted runliveresponse / the action ended (converted from simulated time). */
  submittedAt?: number;
  actionFinalAt?: number;
  actionStatus?: string;
}

/** One request of the paced phase: asked, carded, rejected. */
export interface PacedRequest {
  sentAt: number;
  cardAt?: number;
  clickMs?: number;
  clickStatus?: number;
  /** The bot's answer when it posted no card. */
  reply?: string;
}

export interface BotRun {
  /** The paced phase before the burst, and the bot's own handling times during it. */
  paced: {
    requests: PacedRequest[];
    serverMs: { invokes: number[]; messages: number[] };
    /** Defender API calls made during the paced phase (device look-ups and shared lists). */
    defenderCalls: number;
  };
  startedAt: number;
  endedAt: number;
  timedOut: boolean;
  requests: DrivenRequest[];
  defenderCalls: CallRecord[];
  actions: MachineAction[];
  teams: {
    rateStats: ConversationRateStats[];
    throttles: ThrottleRecord[];
    requestLog: ConnectorRequest[];
  };
  redis: {
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    keyBytes: Record<string, { keys: number; bytes: number }>;
  };
  memory: { rssIdleBytes: number; rssPeakBytes: number; rssEndBytes: number; heapUsedEndBytes: number };
  /** Event loop delay during the run in each process (a busy loop delays every answer it gives). */
  loopDelayMs: Record<'bot' | 'simulator' | 'benchmark', { p50: number; p99: number; max: number }>;
  /** The bot's own time for each /api/messages request (server side, without connection and client time). */
  serverMs: { invokes: number[]; messages: number[] };
  botLog: string;
  env: Record<string, string>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A requester told to try again does so, at most this many times. */
const MAX_ATTEMPTS = 6;

/**
 * How long a requester waits when the bot says "try again in …": the wait it states, or for "in a minute" one
 * Defender minute on the compressed clock.
 */
export function retryWaitMs(reply: string): number | null {
  const match = /try again in (a minute|(?:\d+(?:ms|h|m|s)\s*)+)/.exec(reply);
  if (!match) return null;
  if (match[1] === 'a minute') return 60_000 / SPEED;
  let total = 0;
  for (const [, value, unit] of match[1]!.matchAll(/(\d+)(ms|h|m|s)/g))
    total +=
      Number(value) * ({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const)[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`bench: ${what} took over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function benchChannels(): TeamsChannel[] {
  return Array.from({ length: CHANNELS }, (_, i) => ({
    id: `19:bench-incident-${String(i + 1).padStart(2, '0')}@thread.tacv2`,
    name: `Incident ${i + 1}`,
  }));
}

function usedMemory(info: string): number {
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** MEMORY USAGE of every key under the prefix, by key family (`req`, `audit`, `bull`, ...). */
async function keyBytes(
  redis: Redis,
  prefix: string,
): Promise<Record<string, { keys: number; bytes: number }>> {
  const families: Record<string, { keys: number; bytes: number }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const family = key.slice(prefix.length + 1).split(':')[0] ?? '?';
      const bytes = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      const entry = families[family] ?? { keys: 0, bytes: 0 };
      entry.keys++;
      entry.bytes += bytes;
      families[family] = entry;
    }
  } while (cursor !== '0');
  return families;
}

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Follows every card until it has a final state and its results, or the deadline. */
async function waitForCards(
  teams: FakeTeamsConnector,
  runs: DrivenRequest[],
  deadline: number,
): Promise<boolean> {
  const seen = new Map<string, number>();
  const open = new Set(runs.filter((r) => r.cardActivityId));
  while (open.size > 0 && Date.now() < deadline) {
    for (const run of [...open]) {
      const id = run.cardActivityId!;
      const versions = teams.historyTimes(id).length;
      if (seen.get(id) === versions) continue;
      seen.set(id, versions);
      const latest = teams.activities(run.threadId).find((a) => a.id === id);
      if (cardSettled(teams.findCard(latest), COMMANDS)) open.delete(run);
    }
    await sleep(50);
  }
  return open.size === 0;
}

/** Reads each card's history afterwards: when it first showed a final state and when it had every result. */
function readCardHistory(teams: FakeTeamsConnector, run: DrivenRequest): void {
  const id = run.cardActivityId;
  if (!id) return;
  const versions = teams.history(id);
  const times = teams.historyTimes(id);
  run.cardVersions = versions.length;
  run.cardTimeline = [];
  run.queueNotices = [];
  versions.forEach((version, i) => {
    const card = teams.findCard(version);
    const state = cardState(card) ?? '?';
    const at = times[i]!;
    run.cardTimeline!.push({ state, atMs: at - run.sentAt });
    const notice = /Queued: [^"]*/.exec(JSON.stringify(card ?? {}))?.[0]?.replace(/\d+/g, 'N');
    if (notice && run.queueNotices!.at(-1) !== notice) run.queueNotices!.push(notice);
    if (run.finalCardAt === undefined && FINAL_STATES.has(state)) {
      run.finalCardAt = at;
      run.finalState = state;
    }
    if (run.settledAt === undefined && cardSettled(card, COMMANDS)) run.settledAt = at;
  });
}

/**
 * Requests arriving one every 1/PACED_PER_SECOND s, each in a thread of its own, each card rejected by the
 * approver as soon as it is there: message → card and click → invoke response when nothing queues behind Teams.
 */
async function pacedPhase(
  client: ReturnType<typeof createTeamsClient>,
  teams: FakeTeamsConnector,
  threadOf: (index: number) => ChannelConversation,
): Promise<PacedRequest[]> {
  const gapMs = 1_000 / PACED_PER_SECOND;
  const start = Date.now();
  return Promise.all(
    Array.from({ length: PACED_REQUESTS }, async (_, index): Promise<PacedRequest> => {
      await sleep(start + index * gapMs - Date.now());
      const thread = threadOf(index);
      const run: PacedRequest = { sentAt: Date.now() };
      await client
        .post(client.buildMessage({ conversation: thread, from: USERS.requester, text: requestText(index) }))
        .catch(() => undefined);
      const posted = teams.activities(thread.id);
      const card = posted.find((a) => teams.findCard(a));
      if (!card) {
        run.reply = posted.map((a) => String(a.text ?? '')).join(' | ') || '(no answer)';
        return run;
      }
      run.cardAt = teams.historyTimes(card.id)[0];
      const click = await client
        .invokeAction({
          conversation: thread,
          from: USERS.approver,
          replyToId: card.id,
          verb: CARD_VERBS.reject,
          data: { requestId: cardRequestId(teams.findCard(card)) },
        })
        .catch(() => undefined);
      run.clickMs = click?.elapsedMs;
      run.clickStatus = click?.status;
      return run;
    }),
  );
}

export async function driveBot(options: {
  deadlineMs: number;
  logFile: string;
  simLogFile: string;
}): Promise<BotRun> {
  const sim = await startSimProcess(options.simLogFile);
  // Cards must fit every Teams surface (28 KB): a bigger one is refused like Teams would.
  const teams = await startFakeTeamsConnector({ maxActivityBytes: 28 * 1024 });
  registerFixtures(teams);
  const channels = benchChannels();
  teams.addTeam({
    id: TEAM.id,
    name: TEAM.name,
    aadGroupId: TEAM.aadGroupId,
    channels: [TEAM.incidents, ...channels],
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `lrbench-${process.pid}-${Date.now().toString(36)}`;
  const env: Record<string, string> = {
    PORT: '0',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    APPROVERS: USERS.approver.aadObjectId,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...botLimitsEnv(),
  };
  let bot: BotProcess | undefined;
  try {
    const usedMemoryBefore = usedMemory(await redis.info('memory'));
    bot = await startBotProcess(env, options.logFile);
    const idle = await bot.memory();
    const client = createTeamsClient({
      botUrl: `http://127.0.0.1:${bot.port}/api/messages`,
      serviceUrl: teams.url,
      timeoutMs: 20_000,
    });
    const rootBase = Date.now() * 10;
    const threads: ChannelConversation[] = Array.from({ length: REQUESTS }, (_, i) =>
      channelThread(
        channels[Math.floor(i / THREADS_PER_CHANNEL) % channels.length],
        String(rootBase + i),
        TEAM,
      ),
    );
    const runs: DrivenRequest[] = threads.map((thread, index) => ({
      index,
      device: deviceName(index),
      machineId: sim.machineIdOf(`${deviceName(index)}.contoso.local`),
      threadId: thread.id,
      firstSentAt: 0,
      sentAt: 0,
      attempts: 0,
      refusals: [],
    }));

    // Warm the bot's HTTP path and Teams code (a deployed bot is warm); `help` costs no Defender call.
    const warmUp = channelThread(TEAM.general, String(rootBase - 1), TEAM);
    for (let i = 0; i < 3; i++)
      await within(
        client.post(client.buildMessage({ conversation: warmUp, from: USERS.requester, text: 'help' })),
        20_000,
        'warming up',
      );

    bot.resetLoop();
    const pacedRequests = await within(
      pacedPhase(client, teams, (i) =>
        channelThread(channels[i % channels.length], String(rootBase + REQUESTS + i), TEAM),
      ),
      60_000,
      'the paced requests',
    );
    const paced = { requests: pacedRequests, serverMs: await bot.handling() };
    // Their device look-ups leave Defender's API window before the burst starts.
    await sleep(LIMITS.api[0]!.windowMs / SPEED + 500);

    let rssPeak = idle.rssBytes;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const sample = await bot!.memory().catch(() => undefined);
        if (sample) rssPeak = Math.max(rssPeak, sample.rssBytes);
        await sleep(500);
      }
    })();

    const benchLoop = monitorEventLoopDelay({ resolution: 10 });
    benchLoop.enable();
    bot.resetLoop();
    const startedAt = Date.now();
    // The burst: every message at once; each card approved as soon as it is there.
    await within(
      Promise.all(
        runs.map(async (run) => {
          const thread = threads[run.index]!;
          run.firstSentAt = Date.now();
          let card: ReturnType<typeof teams.activities>[number] | undefined;
          while (!card && run.attempts < MAX_ATTEMPTS) {
            run.sentAt = Date.now();
            run.attempts++;
            const seen = new Set(teams.activities(thread.id).map((a) => a.id));
            const answer = await client
              .post(
                client.buildMessage({
                  conversation: thread,
                  from: USERS.requester,
                  text: requestText(run.index),
                }),
              )
              .catch((error: unknown) => ({ status: 0, elapsedMs: Date.now() - run.sentAt, error }));
            run.turnStatus = answer.status;
            run.turnMs = answer.elapsedMs;
            const posted = teams.activities(thread.id).filter((a) => !seen.has(a.id));
            card = posted.find((a) => teams.findCard(a));
            if (card) break;
            const reply = posted.map((a) => String(a.text ?? '')).join(' | ') || '(no answer)';
            run.refusals.push(reply);
            const wait = retryWaitMs(reply);
            if (wait === null) break;
            await sleep(wait + 50);
          }
          if (!card) {
            run.reply = run.refusals.at(-1) ?? '(no answer)';
            return;
          }
          run.cardActivityId = card.id;
          run.cardAt = teams.historyTimes(card.id)[0];
          run.requestId = cardRequestId(teams.findCard(card));
          run.clickAt = Date.now();
          const click = await client
            .invokeAction({
              conversation: thread,
              from: USERS.approver,
              replyToId: card.id,
              verb: CARD_VERBS.approve,
              data: { requestId: run.requestId },
            })
            .catch(() => undefined);
          run.clickMs = click?.elapsedMs;
          run.clickStatus = click?.status;
          run.approvedOnClick = /Approved by/.test(JSON.stringify(click?.card ?? {}));
        }),
      ),
      120_000,
      'the burst of messages and approvals',
    );
    const settled = await waitForCards(teams, runs, startedAt + options.deadlineMs);
    const endedAt = Date.now();
    sampling = false;
    await sampler;
    const end = await bot.memory();
    const serverMs = await bot.handling();

    benchLoop.disable();
    const snapshot = await sim.snapshot();
    const toReal = realTimeOf(snapshot, SPEED);
    const { actions, calls } = snapshot;
    for (const run of runs) {
      readCardHistory(teams, run);
      const action = actions.find((a) => a.machineId === run.machineId);
      if (!action) continue;
      run.actionId = action.id;
      run.actionStatus = action.status;
      if (FINAL_STATES.has(action.status) && action.lastUpdateDateTimeUtc)
        run.actionFinalAt = toReal(action.lastUpdateDateTimeUtc);
      const submit = calls.find(
        (c) => c.method === 'POST' && c.status === 201 && c.path.includes(`/machines/${run.machineId}/`),
      );
      if (submit) run.submittedAt = submit.realTime;
    }

    const usedMemoryAfter = usedMemory(await redis.info('memory'));
    const families = await keyBytes(redis, prefix);
    await bot.stop();
    bot = undefined;
    return {
      paced: {
        ...paced,
        defenderCalls: calls.filter((c) => c.realTime < startedAt && c.path.startsWith('/api/')).length,
      },
      startedAt,
      endedAt,
      timedOut: !settled,
      requests: runs,
      // The burst's calls; the paced phase's are counted apart.
      defenderCalls: calls.filter((c) => c.realTime >= startedAt),
      actions,
      teams: { rateStats: teams.rateStats(), throttles: teams.throttles(), requestLog: teams.requestLog() },
      redis: { usedMemoryBefore, usedMemoryAfter, keyBytes: families },
      memory: {
        rssIdleBytes: idle.rssBytes,
        rssPeakBytes: Math.max(rssPeak, end.maxRssBytes),
        rssEndBytes: end.rssBytes,
        heapUsedEndBytes: end.heapUsedBytes,
      },
      serverMs,
      loopDelayMs: {
        bot: end.loopDelayMs,
        simulator: snapshot.loopDelayMs,
        benchmark: {
          p50: benchLoop.percentile(50) / 1e6,
          p99: benchLoop.percentile(99) / 1e6,
          max: benchLoop.max / 1e6,
        },
      },
      botLog: readFileSync(options.logFile, 'utf8'),
      env,
    };
  } finally {
    await bot?.stop().catch(() => undefined);
    await deletePrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await Promise.all([sim.stop(), teams.close()]);
  }
}
