// Runs the bot the way operators do — `tsx app/main.ts` configured by environment — in a child process that tests
// can SIGKILL at any moment and start again on the same port, Redis prefix, simulator and fake Teams.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { RunningApp } from '../../app/start-app.js';
import type { DefenderSimulatorOptions } from '../../simulator/defender-simulator.js';
import { REDIS_URL, type Stack, startTestServices } from './start-stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

/** Lines of the bot's output kept for failure messages. */
const OUTPUT_LINES = 400;
/** Start-up includes tsx compiling the bot on the fly: generous, but bounded so a bot that never comes up fails. */
const START_TIMEOUT_MS = 30_000;

export interface BotProcess {
  readonly url: string;
  readonly port: number;
  readonly env: Record<string, string>;
  readonly running: boolean;
  /** Starts the bot and waits until /healthz answers 200 and its workers have started. */
  start(extraEnv?: Record<string, string>): Promise<void>;
  /** SIGKILL to the bot's process group (tsx runs the bot in a child of its own): no chance to clean up. */
  kill(): Promise<void>;
  /** Exits nobody asked for (a crash), each with its code or signal and the output before it. */
  unexpectedExits(): string[];
  /** The latest lines the bot wrote to stdout and stderr; from line `since` (of `linesWritten()`) when given. */
  output(since?: number): string;
  /** How many lines the bot has written so far, across restarts. */
  linesWritten(): number;
}

/** A port free right now on 127.0.0.1, kept by the bot across restarts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function createBotProcess(baseEnv: Record<string, string>): Promise<BotProcess> {
  const port = Number(baseEnv.PORT) || (await freePort());
  const env: Record<string, string> = { ...baseEnv, PORT: String(port) };
  const url = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  let written = 0;
  const crashes: string[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  /** Set when the test itself ends the process, so its exit is not a crash. */
  let killing = false;

  /** Collects whole lines: a chunk from a pipe can end in the middle of one. */
  const lineReader = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (!line) continue;
        lines.push(line);
        written++;
      }
      if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
    };
  };
  const output = (since = 0): string => lines.slice(Math.max(0, since - (written - lines.length))).join('\n');

  async function waitUntilReady(started: ChildProcess, since: number): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (started.exitCode !== null || started.signalCode !== null)
        throw new Error(`the bot exited while starting:\n${output()}`);
      const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })
        .then((res) => res.status === 200)
        .catch(() => false);
      // HTTP comes up before the workers; a test that kills "right after start" needs both.
      if (healthy && output(since).includes('workers started')) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the bot did not become ready within ${START_TIMEOUT_MS} ms:\n${output()}`);
  }

  const bot: BotProcess = {
    url,
    port,
    env,
    get running() {
      return child !== undefined;
    },
    async start(extraEnv = {}) {
      if (child) throw new Error('the bot is already running');
      Object.assign(env, extraEnv);
      const since = written;
      const started = spawn(TSX, ['app/main.ts'], {
        cwd: ROOT,
        // Only what the bot needs: nothing from the test runner's environment leaks into its configuration.
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT, ...env },
        // Its own process group, so SIGKILL reaches tsx's child node process too.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      killing = false;
      started.stdout?.on('data', lineReader());
      started.stderr?.on('data', lineReader());
      exited = new Promise((resolve) => {
        // `close`, not `exit`: the pipes close only when tsx's child (which holds the port) has gone too.
        started.once('close', (code, signal) => {
          child = undefined;
          if (!killing)
            crashes.push(`exited with ${signal ?? `code ${code}`}:\n${lines.slice(-60).join('\n')}`);
          resolve();
        });
      });
      try {
        await waitUntilReady(started, since);
      } catch (error) {
        await bot.kill();
        throw error;
      }
    },
    async kill() {
      if (!child) return;
      killing = true;
      killGroup(child);
      await exited;
    },
    unexpectedExits: () => [...crashes],
    output,
    linesWritten: () => written,
  };
  return bot;
}

function killGroup(bot: ChildProcess): void {
  if (bot.pid === undefined) return;
  try {
    process.kill(-bot.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** A Stack (see start-stack.ts) whose bot runs in a child process; `bot` kills and restarts it. */
export interface ProcessStack extends Stack {
  bot: BotProcess;
}

let stackCount = 0;

export async function startProcessStack(
  options: { env?: Record<string, string>; sim?: DefenderSimulatorOptions; redisUrl?: string } = {},
): Promise<ProcessStack> {
  const { sim, teams } = await startTestServices(options.sim);
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const prefix = `lrproc-${process.pid}-${Date.now().toString(36)}-${stackCount++}`;
  const bot = await createBotProcess({
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    // Alex by Entra object id, Sam by UPN (see teams-fixtures.ts).
    APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92,sam.oncall@contoso.com',
    // Set, even empty, so a developer's .env cannot turn on Bot Framework authentication.
    MicrosoftAppId: '',
    MicrosoftAppPassword: '',
    POLL_INTERVAL: '300ms',
    // A killed worker's jobs are taken over after this long.
    JOB_LOCK_DURATION: '2s',
    // The tests poll many times a minute; Defender's real 100/min would only make them slow.
    DEFENDER_API_RATE: '60/1s',
    // `workers started` is an info line the start-up waits for.
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    ...options.env,
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const app: RunningApp = { port: bot.port, opsPort: bot.port, close: () => bot.kill() };

  const stack: ProcessStack = {
    sim,
    teams,
    bot,
    app,
    botUrl: bot.url,
    prefix,
    env: bot.env,
    redis,
    stopBot: () => bot.kill(),
    startBot: (extraEnv) => bot.start(extraEnv),
    async close() {
      await bot.kill();
      await Promise.all([sim.close(), teams.close()]);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } catch {
        // Redis may be gone (its own test server): nothing left to clean.
      }
      redis.disconnect();
    },
  };
  try {
    await bot.start();
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}
