// The benchmark's helper processes as typed handles: the bot (bot-process.ts) and the simulator (sim-process.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromBot, ToBot } from './bot-process.js';
import { startChild } from './child-process.js';
import type { FromSim, ToSim } from './sim-process.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..');

export type Snapshot = Extract<FromSim, { type: 'snapshot' }>;
export type BotMemory = Extract<FromBot, { type: 'memory' }>;

export interface SimProcess {
  url: string;
  machineIdOf(computerDnsName: string): string;
  snapshot(): Promise<Snapshot>;
  stop(): Promise<void>;
}

export interface BotProcess {
  port: number;
  memory(): Promise<BotMemory>;
  /** Resets the event loop histogram and the request timings. */
  resetLoop(): void;
  /** Server-side handling times of /api/messages since the last reset. */
  handling(): Promise<{ invokes: number[]; messages: number[] }>;
  stop(): Promise<void>;
}

export async function startSimProcess(logFile: string): Promise<SimProcess> {
  const child = startChild<ToSim, FromSim>({
    script: join(benchDir, 'sim-process.ts'),
    cwd: repoRoot,
    env: {},
    logFile,
  });
  const ready = await child.ask('ready', undefined, 30_000);
  const ids = new Map(ready.machines.map((m) => [m.computerDnsName, m.id]));
  return {
    url: ready.url,
    machineIdOf(name) {
      const id = ids.get(name);
      if (!id) throw new Error(`bench: the simulator has no device ${name}`);
      return id;
    },
    snapshot: () => child.ask('snapshot', { type: 'snapshot' }, 30_000),
    stop: () => child.stop({ type: 'stop' }, 10_000),
  };
}

export async function startBotProcess(env: Record<string, string>, logFile: string): Promise<BotProcess> {
  const child = startChild<ToBot, FromBot>({
    script: join(benchDir, 'bot-process.ts'),
    cwd: repoRoot,
    env: { NODE_ENV: 'production', ...env },
    logFile,
    // BENCH_CPU_PROFILE=<dir> writes the bot's CPU profile there, to see what its time goes to.
    ...(process.env.BENCH_CPU_PROFILE
      ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] }
      : {}),
  });
  const ready = await child.ask('ready', undefined, 30_000);
  return {
    port: ready.port,
    memory: () => child.ask('memory', { type: 'memory' }, 5_000),
    resetLoop: () => child.send({ type: 'resetLoop' }),
    handling: () => child.ask('handling', { type: 'handling' }, 5_000),
    stop: () => child.stop({ type: 'stop' }, 20_000),
  };
}

/** Simulated time (Defender's ISO timestamps) → real epoch ms, from one reading of both clocks. */
export function realTimeOf(snapshot: Snapshot, speed: number): (simIso: string) => number {
  return (simIso) =>
    snapshot.realNow + (Date.parse(simIso.replace(/(\.\d{3})\d*Z$/, '$1Z')) - snapshot.simNow) / speed;
}
