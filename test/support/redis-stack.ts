// A test stack (the bot in this process, the Defender simulator and fake Teams over HTTP) on a Redis of the test's
// own — a cluster, a password-protected or a TLS server — configured only through the bot's REDIS_* settings.
import { readConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { createRedisConnection } from '../../app/redis-connection.js';
import { type RunningApp, startApp } from '../../app/start-app.js';
import type { DefenderSimulatorOptions } from '../../simulator/defender-simulator.js';
import { type Stack, startTestServices } from './start-stack.js';

let stackCount = 0;

/** `redisEnv` holds the REDIS_* settings; the servers are the test's own, so nothing is cleaned up key by key. */
export async function startStackOn(
  redisEnv: Record<string, string>,
  options: { env?: Record<string, string>; sim?: DefenderSimulatorOptions } = {},
): Promise<Stack> {
  const { sim, teams } = await startTestServices(options.sim);
  const env: Record<string, string> = {
    PORT: '0',
    REDIS_PREFIX: `lrtest-${process.pid}-${stackCount++}`,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    // Alex by Entra object id, Sam by UPN (see teams-fixtures.ts).
    APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92,sam.oncall@contoso.com',
    POLL_INTERVAL: '250ms',
    JOB_LOCK_DURATION: '3s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUDIT_SINK: 'off',
    ...redisEnv,
    ...options.env,
  };
  const config = readConfig(env);
  const redis = createRedisConnection(config.redis, 'state');
  redis.on('error', () => undefined);
  const logger = createLogger(env.LOG_LEVEL ?? 'silent');
  let app: RunningApp | undefined;
  const stack: Stack = {
    sim,
    teams,
    get app() {
      if (!app) throw new Error('bot not started');
      return app;
    },
    botUrl: '',
    // The prefix the bot really uses (a cluster makes it a hash tag).
    prefix: config.redis.prefix,
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
        workers: startOptions.workers ?? true,
        logger,
        host: '127.0.0.1',
      });
      stack.botUrl = `http://127.0.0.1:${app.port}`;
    },
    async close() {
      await app?.close().catch(() => undefined);
      await Promise.all([sim.close(), teams.close()]);
      redis.disconnect();
    },
  };
  try {
    await stack.startBot();
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}
