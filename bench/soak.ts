// `npm run bench -- --soak` and `npm run bench -- --memory`: many requests through the real bot (its own process) on a
// Redis of its own, against the Defender simulator sped up `SOAK_SPEED`× and the fake Teams connector enforcing Teams'
// limits. `--memory` runs every request to its final card and reports what Redis holds per finished request; `--soak`
// keeps requests coming (most rejected on their card, one in `approveEvery` approved and run) while sampling the bot's
// RSS and Redis's memory, with every retention compressed like the clock so Redis reaches its steady state.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CARD_VERBS } from '../cards/card-verbs.js';
import { startDefenderSimulator } from '../simulator/defender-simulator.js';
import { workstation } from '../simulator/seed-data.js';
import { type FakeTeamsConnector, startFakeTeamsConnector } from '../test/support/fake-teams-connector.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { createTeamsClient, type TeamsClient } from '../test/support/teams-client.js';
import { channelThread, registerFixtures, USERS } from '../test/support/teams-fixtures.js';
import { cardRequestId, cardState, FINAL_STATES } from './card-reading.js';
import { startBotProcess } from './processes.js';

/** Simulated ms per real ms: Defender's minute lasts 0.6 s, so its 10 runliveresponse a minute never hold the soak. */
export const SOAK_SPEED = 100;
const DEVICES = 200;
/** Requests in flight at once (messages sent, cards clicked). */
const CONCURRENCY = 24;
const SAMPLE_EVERY_MS = 5_000;

export interface SoakOptions {
  requests: number;
  /**
   * Splits the run in phases of these many requests (summing to `requests`), each waited on until every card is final:
   * Redis's growth between the last two phase ends, per request, is what one more request costs once BullMQ's
   * bounded lists (finished jobs, events) are full.
   */
  phases: number[];
  /**
   * Requests started per second; undefined = as fast as CONCURRENCY allows. A soak must stay under what Teams takes
   * (the bot keeps to 40 connector calls a second; a rejected request costs 2, a run one about 6), or card updates
   * queue up without end and nothing is steady.
   */
  perSecond?: number;
  /** Every n-th request is approved and runs on Defender; the others are rejected on their card. */
  approveEvery: number;
  /** Compress the retentions and the approval timeout with the clock (the soak); else keep the shipped defaults. */
  compressRetention: boolean;
  resultsDir: string;
  name: string;
}

export interface PhaseEnd {
  requests: number;
  finals: number;
  usedMemory: number;
}

export interface Sample {
  atMs: number;
  finished: number;
  rssMB: number;
  redisMB: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function usedMemory(info: string): number {
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** MEMORY USAGE of every key, by family (`req`, `audit`, `bull`, ...), after the prefix. */
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
      const rest = key.slice(prefix.length + 1).split(':');
      // BullMQ's keys by queue and kind (`bull:lr-cards:<id>` counts as a job hash).
      const family =
        rest[0] === 'bull'
          ? `bull:${rest[1]}:${/^[a-z-]+$/.test(rest[2] ?? '') ? rest[2] : 'job'}`
          : (rest[0] ?? '?');
      const bytes = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      const entry = families[family] ?? { keys: 0, bytes: 0 };
      entry.keys++;
      entry.bytes += bytes;
      families[family] = entry;
    }
  } while (cursor !== '0');
  return families;
}

/** Sends one request in a thread of its own, clicks Approve or Reject on its card; answers its card id, if any. */
async function oneRequest(
  client: TeamsClient,
  teams: FakeTeamsConnector,
  index: number,
  approve: boolean,
): Promise<string | undefined> {
  const conversation = channelThread();
  const device = `soak-ws-${String((index % DEVICES) + 1).padStart(3, '0')}`;
  const status = await client
    .sendMessage({ conversation, from: USERS.requester, text: `run whoami.ps1 on ${device}` })
    .catch(() => 0);
  if (status !== 200) return undefined;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const posted = teams.activities(conversation.id);
    const card = posted.find((a) => teams.findCard(a));
    if (card) {
      const requestId = cardRequestId(teams.findCard(card));
      await client
        .invokeAction({
          conversation,
          from: USERS.approver,
          replyToId: card.id,
          verb: approve ? CARD_VERBS.approve : CARD_VERBS.reject,
          data: { requestId },
        })
        .catch(() => undefined);
      return card.id;
    }
    // A text reply instead of a card: refused (e.g. the device still busy with an earlier request).
    if (posted.length > 0) return undefined;
    await sleep(50);
  }
  return undefined;
}

export async function runSoak(options: SoakOptions): Promise<void> {
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 2 });
  const sim = await startDefenderSimulator({
    speed: SOAK_SPEED,
    extraMachines: Array.from({ length: DEVICES }, (_, i) =>
      workstation(`soak-ws-${String(i + 1).padStart(3, '0')}`),
    ),
    // A long soak makes hundreds of thousands of calls: keep the newest only.
    maxCallLog: 20_000,
  });
  const teams = await startFakeTeamsConnector({ maxActivityBytes: 28 * 1024 });
  registerFixtures(teams);
  const prefix = 'lrsoak';
  // Defender's limits and the poll interval on the simulator's clock.
  const scaled = (ms: number) => `${Math.round(ms / SOAK_SPEED)}ms`;
  const env: Record<string, string> = {
    PORT: '0',
    REDIS_URL: redisServer.url,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    APPROVERS: USERS.approver.aadObjectId ?? '',
    LOG_LEVEL: 'warn',
    AUDIT_SINK: 'off',
    DEFENDER_RUN_RATE: `10/${scaled(60_000)}`,
    DEFENDER_API_RATE: `100/${scaled(60_000)},1500/${scaled(3_600_000)}`,
    POLL_INTERVAL: scaled(5_000),
    ...(options.compressRetention
      ? { APPROVAL_TIMEOUT: scaled(30 * 60_000), REQUEST_RETENTION: '3m', AUDIT_RETENTION: '3m' }
      : {}),
  };
  const bot = await startBotProcess(env, join(options.resultsDir, `${options.name}-bot.log`));
  const samples: Sample[] = [];
  const phaseEnds: PhaseEnd[] = [];
  const cards: string[] = [];
  let finished = 0;
  try {
    const client = createTeamsClient({
      botUrl: `http://127.0.0.1:${bot.port}/api/messages`,
      serviceUrl: teams.url,
      timeoutMs: 20_000,
    });
    const baseline = usedMemory(await redis.info('memory'));
    const startedAt = Date.now();
    let sampling = true;
    const sample = async () => {
      const memory = await bot.memory();
      samples.push({
        atMs: Date.now() - startedAt,
        finished,
        rssMB: mb(memory.rssBytes),
        redisMB: mb(usedMemory(await redis.info('memory'))),
      });
      const last = samples.at(-1)!;
      process.stdout.write(
        `soak: ${last.finished}/${options.requests} after ${Math.round(last.atMs / 1000)} s, bot RSS ${last.rssMB} MB, Redis ${last.redisMB} MB\n`,
      );
    };
    const sampler = (async () => {
      while (sampling) {
        await sample().catch(() => undefined);
        await sleep(SAMPLE_EVERY_MS);
      }
    })();

    const isFinal = (id: string) =>
      FINAL_STATES.has(cardState(teams.findCard(teams.history(id).at(-1))) ?? '');
    let next = 0;
    let end = 0;
    for (const phase of options.phases) {
      end += phase;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < end) {
            const index = next++;
            if (options.perSecond) await sleep(startedAt + (index * 1000) / options.perSecond - Date.now());
            const card = await oneRequest(client, teams, index, index % options.approveEvery === 0);
            if (card) cards.push(card);
            finished++;
          }
        }),
      );
      // Every card that was posted reaches a final state (and its jobs finish) before Redis is read.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !cards.every(isFinal)) await sleep(500);
      await sleep(3_000);
      phaseEnds.push({
        requests: end,
        finals: cards.filter(isFinal).length,
        usedMemory: usedMemory(await redis.info('memory')),
      });
    }
    sampling = false;
    await sampler;
    await sample();

    const families = await keyBytes(redis, prefix);
    const finals = cards.filter(isFinal).length;
    const throttles = {
      defender: sim.control.calls().filter((c) => c.status === 429).length,
      teams: teams.throttles().length,
    };
    const redisBytes = usedMemory(await redis.info('memory')) - baseline;
    const report = renderSoakReport({
      options,
      samples,
      families,
      finals,
      cards: cards.length,
      throttles,
      redisBytes,
      phaseEnds,
    });
    writeFileSync(join(options.resultsDir, `${options.name}.md`), report);
    writeFileSync(
      join(options.resultsDir, `${options.name}.json`),
      `${JSON.stringify({ options, samples, phaseEnds, families, finals, cards: cards.length, throttles, redisBytes, env }, null, 2)}\n`,
    );
    process.stdout.write(
      `${report}\nbench: wrote ${join(options.resultsDir, `${options.name}.{md,json}`)}\n`,
    );
  } finally {
    await bot.stop().catch(() => undefined);
    redis.disconnect();
    await Promise.all([sim.close(), teams.close()]);
    await redisServer.close();
  }
}

/** What one more finished request costs: Redis's growth between the last two phase ends, per request finished. */
function marginal(ends: PhaseEnd[]): string[] {
  const [a, b] = ends.slice(-2);
  if (!a || !b || b.finals <= a.finals) return [];
  const kb = Math.round(((b.usedMemory - a.usedMemory) / (b.finals - a.finals) / 1024) * 10) / 10;
  return [
    `Between ${a.finals} and ${b.finals} finished requests Redis grew ${kb} KB per request: the cost of one more once BullMQ's bounded lists are full.`,
  ];
}

function renderSoakReport(run: {
  options: SoakOptions;
  samples: Sample[];
  families: Record<string, { keys: number; bytes: number }>;
  finals: number;
  cards: number;
  throttles: { defender: number; teams: number };
  redisBytes: number;
  phaseEnds: PhaseEnd[];
}): string {
  const { options, samples } = run;
  const perRequestKB = (bytes: number) => Math.round((bytes / Math.max(1, run.finals) / 1024) * 10) / 10;
  const lines = [
    `# ${options.name === 'memory' ? 'Redis memory per finished request' : 'Soak'}`,
    '',
    `${options.requests} requests${options.perSecond ? ` started at ${options.perSecond} a second` : ''} (1 in ${options.approveEvery} approved and run, the others rejected on their card), ` +
      `simulator ×${SOAK_SPEED}, retention ${options.compressRetention ? 'compressed (REQUEST_RETENTION and AUDIT_RETENTION 3m)' : 'as shipped'}.`,
    `Cards posted ${run.cards}, in a final state ${run.finals}; Defender 429s ${run.throttles.defender}, Teams 429s ${run.throttles.teams}.`,
    `Redis used_memory grew by ${mb(run.redisBytes)} MB: ${perRequestKB(run.redisBytes)} KB per finished request, BullMQ's bounded lists included.`,
    ...marginal(run.phaseEnds),
    '',
    '| after (s) | requests done | bot RSS (MB) | Redis used_memory (MB) |',
    '| --------: | ------------: | -----------: | ---------------------: |',
    ...samples.map((s) => `| ${Math.round(s.atMs / 1000)} | ${s.finished} | ${s.rssMB} | ${s.redisMB} |`),
    '',
    '| key family | keys | KB | KB per finished request |',
    '| ---------- | ---: | -: | ----------------------: |',
    ...Object.entries(run.families)
      .sort(([, a], [, b]) => b.bytes - a.bytes)
      .map(
        ([family, f]) =>
          `| ${family} | ${f.keys} | ${Math.round(f.bytes / 1024)} | ${perRequestKB(f.bytes)} |`,
      ),
    '',
  ];
  return lines.join('\n');
}
