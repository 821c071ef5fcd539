// A Redis server of the test's own (Debian's `redis-server`) on a free port with an append-only file in a temporary
// directory, so a test can stop it and start it again with its data, as an operator restarting Redis would.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './bot-process.js';

const START_TIMEOUT_MS = 10_000;

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Where the append-only file lives; kept across stop and start. */
  readonly dir: string;
  readonly running: boolean;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** SIGTERM: Redis flushes the append-only file and exits, like SHUTDOWN. */
  stop(): Promise<void>;
  /** Stops it if running and removes the directory. */
  close(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'lr-redis-'));
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (server) throw new Error('redis-server is already running');
    let output = '';
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = started;
    exited = new Promise((resolve) => {
      started.once('exit', () => {
        server = undefined;
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
      }, START_TIMEOUT_MS);
      const done = (error?: Error): void => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      started.once('error', (error: NodeJS.ErrnoException) =>
        done(
          error.code === 'ENOENT'
            ? new Error('redis-server is not installed: apt-get install -y redis-server')
            : error,
        ),
      );
      started.once('exit', (code) => done(new Error(`redis-server exited with code ${code}:\n${output}`)));
      const watch = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) done();
      };
      started.stdout?.on('data', watch);
      started.stderr?.on('data', watch);
    }).catch(async (error: unknown) => {
      started.kill('SIGKILL');
      await exited;
      throw error;
    });
  }

  async function stop(): Promise<void> {
    if (!server) return;
    server.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get running() {
      return server !== undefined;
    },
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
