// Starts the whole bot for an integration test: Defender simulator and fake Teams over HTTP, the bot's HTTP server
// and workers in this process, real Redis under a key prefix of its own (removed afterwards).
import { Redis } from 'ioredis';
import { readConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { type RunningApp, startApp } from '../../app/start-app.js';
import type { TokenProvider } from '../../defender/token-provider.js';
import {
  type DefenderSimulator,
  type DefenderSimulatorOptions,
  startDefenderSimulator,
} from '../../simulator/defender-simulator.js';
import { type FakeTeamsConnector, startFakeTeamsConnector } from './fake-teams-connector.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The simulator runs this many times faster than real time (its seed scripts take tens of seconds). */
export const SIM_SPEED = 20;

/** Simulated timings: at SIM_SPEED, a fraction of a second each — short for tests, long enough to see each state. */
export const FAST_TIMINGS = {
  pickupDelayMs: 3_000,
  runScriptMs: 6_000,
  getFileMs: 5_000,
  putFileMs: 2_000,
};

let stackCount = 0;

/** The two outside services every stack talks to: the Defender simulator (fast timings) and fake Teams. */
export async function startTestServices(
  simOptions?: DefenderSimulatorOptions,
): Promise<{ sim: DefenderSimulator; teams: FakeTeamsConnector }> {
  const sim = await startDefenderSimulator({
    speed: SIM_SPEED,
    ...simOptions,
    timings: { ...FAST_TIMINGS, ...simOptions?.timings },
  });
  return { sim, teams: await startFakeTeamsConnector() };
}

export interface Stack {
  sim: DefenderSimulator;
  teams: FakeTeamsConnector;
  readonly app: RunningApp;
  botUrl: string;
  prefix: string;
  env: Record<string, string>;
  redis: Redis;
  /** Stops the bot only (simulator, Teams and Redis state stay): for restart tests. */
  stopBot(): Promise<void>;
  /** `workers: false` starts the HTTP side only (default: as the stack was started). */
  startBot(extraEnv?: Record<string, string>, startOptions?: { workers?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(
  options: {
    env?: Record<string, string>;
    sim?: DefenderSimulatorOptions;
    workers?: boolean;
    /** Receives every log line the bot writes (for tests that read the logs). */
    logSink?: NodeJS.WritableStream;
    /** Builds the Defender token provider once the simulator is up (e.g. MSAL against its sign-in endpoint). */
    defenderTokens?: (sim: DefenderSimulator) => TokenProvider;
  } = {},
): Promise<Stack> {
  const { sim, teams } = await startTestServices(options.sim);
  const prefix = `lrtest-${process.pid}-${Date.now().toString(36)}-${stackCount++}`;
  const env: Record<string, string> = {
    PORT: '0',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    // Alex by Entra object id, Sam by UPN (see teams-fixtures.ts).
    APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92,sam.oncall@contoso.com',
    POLL_INTERVAL: '250ms',
    JOB_LOCK_DURATION: '3s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  };
  const redis = new Redis(REDIS_URL);
  const logger = createLogger(env.LOG_LEVEL ?? 'silent', options.logSink);
  let app: RunningApp | undefined;

  const stack: Stack = {
    sim,
    teams,
    get app() {
      if (!app) throw new Error('bot not started');
      return app;
    },
    botUrl: '',
    prefix,
    env,
    redis,
    async stopBot() {
      await app?.close();
      app = undefined;
    },
    async startBot(extraEnv = {}, startOptions = {}) {
      Object.assign(env, extraEnv);
      app = await startApp(readConfig(env), {
        http: true,
        workers: startOptions.workers ?? options.workers ?? true,
        logger,
        host: '127.0.0.1',
        ...(options.defenderTokens ? { defenderTokens: options.defenderTokens(sim) } : {}),
      });
      stack.botUrl = `http://127.0.0.1:${app.port}`;
    },
    async close() {
      await app?.close().catch(() => undefined);
      await Promise.all([sim.close(), teams.close()]);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
  await stack.startBot();
  return stack;
}
