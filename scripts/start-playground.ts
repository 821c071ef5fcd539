// Runs the Microsoft 365 Agents Playground as a child process, offline, and stops it with the demo.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface PlaygroundOptions {
  port: number;
  /** The bot's messaging endpoint, e.g. http://127.0.0.1:3978/api/messages. */
  botEndpoint: string;
  /** The mock tenant (.m365agentsplayground.yml). */
  configPath: string;
  cwd: string;
  /** How long to wait for it to listen. Default 60 s (the first start unpacks a large bundle). */
  startTimeoutMs?: number;
  /** Called if the playground exits while the demo still needs it. */
  onUnexpectedExit?: (code: number | null, signal: NodeJS.Signals | null, output: string) => void;
}

export interface RunningPlayground {
  url: string;
  stop(): Promise<void>;
}

/** Output kept for error messages; the playground is chatty only when something is wrong. */
const OUTPUT_TAIL_CHARS = 8_000;
/** After SIGTERM, how long before SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** The CLI's script, run with this Node so it works the same on every OS (no shell shims). */
function playgroundCli(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('@microsoft/m365agentsplayground/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  const bin = manifest.bin.agentsplayground;
  if (!bin) throw new Error('@microsoft/m365agentsplayground has no agentsplayground binary');
  return join(dirname(manifestPath), bin);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

export async function startPlayground(options: PlaygroundOptions): Promise<RunningPlayground> {
  const url = `http://localhost:${options.port}`;
  const probeUrl = `http://127.0.0.1:${options.port}/`;
  if (await answers(probeUrl))
    throw new Error(
      `Something already answers on port ${options.port} (an agents playground left running?). ` +
        'Stop it, or set PLAYGROUND_PORT to a free port.',
    );

  const child: ChildProcess = spawn(
    process.execPath,
    [
      playgroundCli(),
      'start',
      '-e',
      options.botEndpoint,
      '-c',
      'msteams',
      '-p',
      String(options.port),
      '--disable-telemetry',
    ],
    {
      cwd: options.cwd,
      env: {
        ...process.env,
        // Offline: no statsbeat or telemetry calls, and no browser opened on a machine that may have none.
        APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
        TEAMSAPPTESTER_BROWSER: 'none',
        M365_AGENTS_PLAYGROUND_CONFIG_PATH:
          process.env.M365_AGENTS_PLAYGROUND_CONFIG_PATH || options.configPath,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  // Unexpected = after it listened and before stop(); a failed start is reported by the throw below.
  let listening = false;
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (listening && !stopping) options.onUnexpectedExit?.(code, signal, output);
  });

  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await answers(probeUrl))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `The agents playground exited before it listened (code ${child.exitCode ?? child.signalCode}):\n${output.trim()}`,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `The agents playground did not listen on port ${options.port} in time:\n${output.trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  listening = true;
  return { url, stop };
}
