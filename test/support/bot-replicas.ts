// Bot replicas as operators scale them: `tsx app/main.ts --http-only` or `--worker-only`, each a child process with
// its own port (the HTTP server, or the operator endpoints of a worker), sharing one Redis prefix. Tests SIGKILL them.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './bot-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
/** tsx compiles the bot on start: generous on a busy 2-core host, but bounded. */
const START_TIMEOUT_MS = 40_000;
const OUTPUT_LINES = 300;

export type ReplicaMode = 'http-only' | 'worker-only';

export interface BotReplica {
  readonly mode: ReplicaMode;
  /** The bot's URL (HTTP replicas) or its operator endpoints' (workers). */
  readonly url: string;
  readonly running: boolean;
  /** SIGKILL to the replica's process group (tsx runs the bot in a child). */
  kill(): Promise<void>;
  /** Exits the test did not ask for. */
  unexpectedExits(): string[];
  output(): string;
}

export async function startReplica(mode: ReplicaMode, env: Record<string, string>): Promise<BotReplica> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  const crashes: string[] = [];
  let killing = false;
  let child: ChildProcess | undefined = spawn(TSX, ['app/main.ts', `--${mode}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT, ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const read = (chunk: Buffer): void => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    if (lines.length > OUTPUT_LINES) lines.splice(0, lines.length - OUTPUT_LINES);
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const exited = new Promise<void>((resolve) => {
    child?.once('close', (code, signal) => {
      child = undefined;
      if (!killing)
        crashes.push(`${mode} exited with ${signal ?? `code ${code}`}:\n${lines.slice(-40).join('\n')}`);
      resolve();
    });
  });

  const replica: BotReplica = {
    mode,
    url,
    get running() {
      return child !== undefined;
    },
    async kill() {
      if (!child?.pid) return;
      killing = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
    unexpectedExits: () => [...crashes],
    output: () => lines.join('\n'),
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!child) throw new Error(`the ${mode} replica exited while starting:\n${replica.output()}`);
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })
      .then((res) => res.status === 200)
      .catch(() => false);
    if (healthy && (mode === 'http-only' || lines.some((l) => l.includes('workers started')))) return replica;
    if (Date.now() > deadline) {
      await replica.kill();
      throw new Error(
        `the ${mode} replica did not become ready within ${START_TIMEOUT_MS} ms:\n${replica.output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
