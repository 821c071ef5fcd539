// How fast the demo's simulated devices work. The simulator's clock stays on real time, so every timestamp on
// the card and each download link's 30-minute expiry read true; only the devices' work is shortened.
import { createSeedScriptBehaviours, type ScriptBehaviour } from '../simulator/seed-data.js';
import { DEFAULT_TIMINGS, type SimTimings } from '../simulator/simulated-tenant.js';

export interface DemoPace {
  timings: SimTimings;
  scripts: Record<string, ScriptBehaviour>;
}

/**
 * Defender's pick-up delay, command durations and the RunScript timeout divided by `speedup`, with the seed
 * scripts' own durations shortened alike (hang.ps1 still outlasts the timeout). Link validity is left alone.
 */
export function demoPace(speedup: number): DemoPace {
  const shorten = (ms: number): number => Math.round(ms / speedup);
  const timings: SimTimings = {
    ...DEFAULT_TIMINGS,
    pickupDelayMs: shorten(DEFAULT_TIMINGS.pickupDelayMs),
    runScriptMs: shorten(DEFAULT_TIMINGS.runScriptMs),
    getFileMs: shorten(DEFAULT_TIMINGS.getFileMs),
    putFileMs: shorten(DEFAULT_TIMINGS.putFileMs),
    runScriptTimeoutMs: shorten(DEFAULT_TIMINGS.runScriptTimeoutMs),
  };
  const scripts = Object.fromEntries(
    Object.entries(createSeedScriptBehaviours()).map(([name, behaviour]) => [
      name,
      behaviour.durationMs === undefined
        ? behaviour
        : { ...behaviour, durationMs: shorten(behaviour.durationMs) },
    ]),
  );
  return { timings, scripts };
}
