// The fan-out burst: FANOUT_REQUESTS requests of FANOUT_DEVICES devices each, asked at once and each approved once,
// through the real bot against the Defender simulator on the compressed clock. Reports the makespan against the
// lower bound for as many single actions (a fan-out may not beat the run budget or the sessions) and Defender calls
// per device action (target ≤ 4), and checks one runliveresponse per device.
import { Redis } from 'ioredis';
import { CARD_VERBS } from '../cards/card-verbs.js';
import type { CallRecord } from '../simulator/defender-simulator.js';
import { startFakeTeamsConnector } from '../test/support/fake-teams-connector.js';
import { createTeamsClient } from '../test/support/teams-client.js';
import { channelThread, registerFixtures, TEAM, USERS } from '../test/support/teams-fixtures.js';
import { cardRequestId } from './card-reading.js';
import { type Bound, makespanLowerBound } from './lower-bound.js';
import { type BotProcess, startBotProcess, startSimProcess } from './processes.js';
import { ACTION_MS, botLimitsEnv, deviceName, LIMITS, REQUESTS, SPEED, TARGETS } from './scenario.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** 5 requests × 20 devices: the burst, over the benchmark's 100 workstations. */
export const FANOUT_REQUESTS = 5;
export const FANOUT_DEVICES = 20;

export interface FanOutRun {
  requests: number;
  devicesPerRequest: number;
  deviceActions: number;
  bound: Bound;
  /** First message to the last card showing its end with every device's results (real ms). */
  makespanMs: number | null;
  boundRealMs: number;
  ratio: number | null;
  /** Every Defender API call during the burst, and per device action. */
  defenderCalls: number;
  callsPerDeviceAction: number;
  callsByEndpoint: Record<string, number>;
  /** runliveresponse calls per device: exactly one each is the exactly-once check. */
  devicesSentOnce: number;
  devicesSentTwice: number;
  summaries: string[];
  cards: number;
  teams429s: number;
  timedOut: boolean;
}

export function fanOutText(request: number): string {
  const names = Array.from({ length: FANOUT_DEVICES }, (_, d) => deviceName(request * FANOUT_DEVICES + d));
  return `run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on ${names.join(', ')}`;
}

function endpoint(call: CallRecord): string {
  if (call.path.endsWith('/runliveresponse')) return 'runliveresponse';
  if (call.path.includes('GetLiveResponseResultDownloadLink')) return 'result link';
  if (call.path.startsWith('/api/machineactions')) return 'machineactions';
  if (call.path.startsWith('/api/machines')) return 'machines';
  if (call.path.startsWith('/api/libraryfiles')) return 'libraryfiles';
  return 'other';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function driveFanOut(options: {
  deadlineMs: number;
  logFile: string;
  simLogFile: string;
}): Promise<FanOutRun> {
  if (FANOUT_REQUESTS * FANOUT_DEVICES > REQUESTS)
    throw new Error('bench: the fan-out burst needs more workstations than the simulator has');
  const bound = makespanLowerBound({
    requests: FANOUT_REQUESTS * FANOUT_DEVICES,
    runsPerWindow: LIMITS.run.limit,
    windowMs: LIMITS.run.windowMs,
    maxSessions: LIMITS.maxSessions,
    actionMs: ACTION_MS,
  });
  const sim = await startSimProcess(options.simLogFile);
  const teams = await startFakeTeamsConnector({ maxActivityBytes: 28 * 1024 });
  registerFixtures(teams);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `lrbench-fan-${process.pid}-${Date.now().toString(36)}`;
  let bot: BotProcess | undefined;
  try {
    bot = await startBotProcess(
      {
        PORT: '0',
        REDIS_URL,
        REDIS_PREFIX: prefix,
        DEFENDER_API_URL: sim.url,
        DEFENDER_ACCESS_TOKEN: 'sim-token',
        APPROVERS: USERS.approver.aadObjectId,
        FANOUT_MAX_DEVICES: String(FANOUT_DEVICES),
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
        ...botLimitsEnv(),
      },
      options.logFile,
    );
    const client = createTeamsClient({
      botUrl: `http://127.0.0.1:${bot.port}/api/messages`,
      serviceUrl: teams.url,
      timeoutMs: 20_000,
    });
    const rootBase = Date.now() * 10;
    const threads = Array.from({ length: FANOUT_REQUESTS }, (_, i) =>
      channelThread(TEAM.incidents, String(rootBase + i), TEAM),
    );
    const startedAt = Date.now();
    const cards = await Promise.all(
      threads.map(async (thread, i) => {
        await client.post(
          client.buildMessage({ conversation: thread, from: USERS.requester, text: fanOutText(i) }),
        );
        const card = teams.activities(thread.id).find((a) => teams.findCard(a));
        if (!card) return undefined;
        await client.invokeAction({
          conversation: thread,
          from: USERS.approver,
          replyToId: card.id,
          verb: CARD_VERBS.approve,
          data: { requestId: cardRequestId(teams.findCard(card)) ?? '' },
        });
        return { thread, id: card.id };
      }),
    );
    const posted = cards.filter((c): c is NonNullable<typeof c> => c !== undefined);
    const finished = new Map<string, number>();
    const deadline = startedAt + options.deadlineMs;
    while (finished.size < posted.length && Date.now() < deadline) {
      for (const card of posted) {
        if (finished.has(card.id)) continue;
        const latest = teams.activities(card.thread.id).find((a) => a.id === card.id);
        if (JSON.stringify(teams.findCard(latest) ?? {}).includes('"Finished at ')) {
          finished.set(card.id, teams.historyTimes(card.id).at(-1) ?? Date.now());
        }
      }
      await sleep(100);
    }
    const snapshot = await sim.snapshot();
    const calls = snapshot.calls.filter((c) => c.realTime >= startedAt && c.path.startsWith('/api/'));
    const byEndpoint: Record<string, number> = {};
    for (const call of calls) byEndpoint[endpoint(call)] = (byEndpoint[endpoint(call)] ?? 0) + 1;
    const runsPerMachine = new Map<string, number>();
    for (const call of calls.filter((c) => c.method === 'POST' && c.path.endsWith('/runliveresponse')))
      runsPerMachine.set(call.path, (runsPerMachine.get(call.path) ?? 0) + 1);
    const deviceActions = FANOUT_REQUESTS * FANOUT_DEVICES;
    const boundRealMs = bound.makespanMs / SPEED;
    const timedOut = finished.size < FANOUT_REQUESTS;
    const makespanMs = timedOut ? null : Math.max(...finished.values()) - startedAt;
    return {
      requests: FANOUT_REQUESTS,
      devicesPerRequest: FANOUT_DEVICES,
      deviceActions,
      bound,
      makespanMs,
      boundRealMs,
      ratio: makespanMs === null ? null : makespanMs / boundRealMs,
      defenderCalls: calls.length,
      callsPerDeviceAction: calls.length / deviceActions,
      callsByEndpoint: byEndpoint,
      devicesSentOnce: [...runsPerMachine.values()].filter((n) => n === 1).length,
      devicesSentTwice: [...runsPerMachine.values()].filter((n) => n > 1).length,
      summaries: posted.map((card) => {
        const latest = teams.activities(card.thread.id).find((a) => a.id === card.id);
        return /\d+ of \d+ succeeded[^"]*/.exec(JSON.stringify(teams.findCard(latest) ?? {}))?.[0] ?? '?';
      }),
      cards: posted.length,
      teams429s: teams.throttles().length,
      timedOut,
    };
  } finally {
    await bot?.stop().catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await Promise.all([sim.stop(), teams.close()]);
  }
}

/** The fan-out burst's section of the report, in Markdown. */
export function renderFanOutReport(run: FanOutRun): string {
  const seconds = (ms: number | null) => (ms === null ? 'did not finish' : `${(ms / 1000).toFixed(1)} s`);
  const calls = Object.entries(run.callsByEndpoint)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const ratioOk = run.ratio !== null && run.ratio <= TARGETS.makespanRatio;
  const callsOk = run.callsPerDeviceAction <= TARGETS.defenderCallsPerRequest;
  return [
    `## Fan-out burst: ${run.requests} requests × ${run.devicesPerRequest} devices`,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| makespan (first message → last card finished with every device's results) | ${seconds(run.makespanMs)} real | ≤ ${TARGETS.makespanRatio} × bound |`,
    `| lower bound (${run.deviceActions} actions, ${run.bound.binding}) | ${seconds(run.boundRealMs)} real (${(run.bound.makespanMs / 1000).toFixed(0)} s simulated) | |`,
    `| makespan / bound | ${run.ratio === null ? '—' : run.ratio.toFixed(2)} ${ratioOk ? '✓' : '✗'} | ≤ ${TARGETS.makespanRatio} |`,
    `| Defender calls per device action | ${run.callsPerDeviceAction.toFixed(2)} ${callsOk ? '✓' : '✗'} (${run.defenderCalls}: ${calls}) | ≤ ${TARGETS.defenderCallsPerRequest} |`,
    `| devices sent exactly once / more than once | ${run.devicesSentOnce} / ${run.devicesSentTwice} | ${run.deviceActions} / 0 |`,
    `| approval cards (one per request) | ${run.cards} | ${run.requests} |`,
    `| Teams 429s | ${run.teams429s} | 0 |`,
    '',
    `Final summaries: ${run.summaries.join('; ')}.`,
  ].join('\n');
}
