// Device lookups for the pre-flight, batched: while one lookup is in flight (or waiting for API budget), the names
// asked for meanwhile gather and go out together in the next call. A batch holds as many names as Defender's OData
// node limit and 2 KB query strings allow; if Defender refuses one anyway (400/414), each half is asked on its own,
// so no name fails because another shared its call. A burst of N messages costs about N / 18 calls of the
// 100-per-minute budget (18 short names fill the 94 nodes planned for), fewer names per call when they are long.
import type { DefenderApi } from './defender-client.js';
import { machinesQuerySize } from './defender-client.js';
import { machineMatches } from './device-names.js';
import {
  DEFENDER_QUERY_BUDGET,
  fitsBudget,
  isRefusedQuery,
  packBatches,
  type QueryBudget,
} from './odata-limits.js';
import type { Machine } from './types.js';

/** Typed device name (machine id, FQDN or short host name) → every machine it names. */
export type DeviceFinder = (typed: string) => Promise<Machine[]>;

/** Each short name matches only itself or `name.*`; this leaves room to report ambiguous ones. */
const TOP_PER_NAME = 20;

interface Waiter {
  name: string;
  resolve: (machines: Machine[]) => void;
  reject: (error: unknown) => void;
}

export interface DeviceFinderOptions {
  /** The limits a lookup must stay under. Default DEFENDER_QUERY_BUDGET: 94 filter nodes, 2048-character query strings. */
  budget?: QueryBudget;
}

const queryOf = (names: readonly string[]) => ({ devices: names, top: names.length * TOP_PER_NAME });

export function createDeviceFinder(
  defender: Pick<DefenderApi, 'findMachines'>,
  options: DeviceFinderOptions = {},
): DeviceFinder {
  const budget = options.budget ?? DEFENDER_QUERY_BUDGET;
  const waiting: Waiter[] = [];
  let running = false;

  /** One call for these names; when Defender refuses the query, each half on its own, down to single names. */
  async function lookUp(names: string[], batch: Waiter[]): Promise<void> {
    let machines: Machine[];
    try {
      machines = await defender.findMachines(queryOf(names));
    } catch (error) {
      if (names.length > 1 && isRefusedQuery(error)) {
        const middle = Math.ceil(names.length / 2);
        for (const half of [names.slice(0, middle), names.slice(middle)]) {
          await lookUp(
            half,
            batch.filter((w) => half.includes(w.name)),
          );
        }
        return;
      }
      for (const w of batch) w.reject(error);
      return;
    }
    for (const w of batch) w.resolve(machines.filter((m) => machineMatches(w.name, m)));
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (waiting.length > 0) {
        // Distinct names, as many as fit one call; a name asked twice rides along for free.
        const distinct = [...new Set(waiting.map((w) => w.name))];
        const names = packBatches(distinct, (batch) =>
          fitsBudget(machinesQuerySize(queryOf(batch)), budget),
        )[0]!;
        const batch: Waiter[] = [];
        for (let i = 0; i < waiting.length; ) {
          if (names.includes(waiting[i]!.name)) batch.push(...waiting.splice(i, 1));
          else i++;
        }
        await lookUp(names, batch);
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
