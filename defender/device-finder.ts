// Device lookups for the pre-flight, batched: while one lookup is in flight (or waiting for API budget), the names
// asked for meanwhile gather and go out together in the next call, one `or` filter. A lone request costs one call
// and waits for nothing; a burst of N messages costs about N / maxBatch calls of the 100-per-minute budget.
import type { DefenderApi } from './defender-client.js';
import { machineMatches } from './device-names.js';
import type { Machine } from './types.js';

/** Typed device name (machine id, FQDN or short name) → every machine it names. */
export type DeviceFinder = (typed: string) => Promise<Machine[]>;

/** Keeps the request line well under the 2 KB URLs that proxies and gateways accept everywhere. */
const DEFAULT_MAX_BATCH = 15;
/** Each short name matches only itself or `name.*`; this leaves room to report ambiguous ones. */
const TOP_PER_NAME = 20;

interface Waiter {
  name: string;
  resolve: (machines: Machine[]) => void;
  reject: (error: unknown) => void;
}

export function createDeviceFinder(
  defender: Pick<DefenderApi, 'findMachines'>,
  options: { maxBatch?: number } = {},
): DeviceFinder {
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const waiting: Waiter[] = [];
  let running = false;

  async function lookUp(batch: Waiter[]): Promise<void> {
    const names = [...new Set(batch.map((w) => w.name))];
    try {
      const machines = await defender.findMachines({ devices: names, top: names.length * TOP_PER_NAME });
      for (const w of batch) w.resolve(machines.filter((m) => machineMatches(w.name, m)));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (waiting.length > 0) {
        // Distinct names per call; a name asked twice rides along for free.
        const batch: Waiter[] = [];
        const names = new Set<string>();
        while (waiting.length > 0 && (names.size < maxBatch || names.has(waiting[0]!.name))) {
          const next = waiting.shift()!;
          names.add(next.name);
          batch.push(next);
        }
        await lookUp(batch);
      }
    } finally {
      running = false;
    }
  }

  return (typed) =>
    new Promise<Machine[]>((resolve, reject) => {
      waiting.push({ name: typed.toLowerCase(), resolve, reject });
      void drain();
    });
}
