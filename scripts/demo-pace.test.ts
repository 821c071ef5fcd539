import { describe, expect, it } from 'vitest';
import { createSeedScriptBehaviours } from '../simulator/seed-data.js';
import { DEFAULT_TIMINGS } from '../simulator/simulated-tenant.js';
import { demoPace } from './demo-pace.js';

describe('demoPace', () => {
  it('shortens the devices work but keeps links valid for Defender’s 30 minutes', () => {
    const { timings, scripts } = demoPace(10);
    expect(timings).toEqual({
      pickupDelayMs: 500,
      runScriptMs: 2_000,
      getFileMs: 1_500,
      putFileMs: 500,
      runScriptTimeoutMs: 60_000,
      linkValidityMs: 30 * 60_000,
    });
    expect(scripts['minidump.ps1']?.durationMs).toBe(4_500);
  });

  it('keeps what each seed script does, and hang.ps1 still runs into the timeout', () => {
    const { timings, scripts } = demoPace(10);
    const seed = createSeedScriptBehaviours();
    expect(Object.keys(scripts)).toEqual(Object.keys(seed));
    expect(scripts['fail.ps1']).toMatchObject({ exitCode: 1, errors: seed['fail.ps1']?.errors });
    expect(scripts['hang.ps1']?.durationMs).toBeGreaterThan(timings.runScriptTimeoutMs);
  });

  it('changes nothing at speedup 1', () => {
    expect(demoPace(1).timings).toEqual(DEFAULT_TIMINGS);
  });
});
