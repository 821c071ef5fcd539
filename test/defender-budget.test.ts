// Runs against the real Redis (a unique key prefix per run).
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import { createSlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { createDefenderBudget } from '../defender/defender-budget.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
const prefix = `lrtest-budget-${process.pid}-${Date.now()}`;
afterAll(async () => {
  const found = await redis.keys(`${prefix}*`);
  if (found.length) await redis.del(...found);
  redis.disconnect();
});

function budgetAt(name: string, now: { t: number }) {
  const keys = redisKeys(`${prefix}-${name}`);
  const clock = { now: () => now.t, nowIso: () => new Date(now.t).toISOString() };
  return createDefenderBudget({
    limiter: createSlidingWindowLimiter({ redis, clock, keyOf: keys.limiter }),
    runRate: { count: 3, durationMs: 60_000 },
    apiRates: [
      { count: 5, durationMs: 1_000 },
      { count: 8, durationMs: 60_000 },
    ],
    // Exact windows here; the margin has its own test.
    skewMargin: 0,
    skewFloorMs: 0,
  });
}

describe('DefenderBudget', () => {
  it('grants up to the limit in a sliding window and says how long to wait', async () => {
    const now = { t: 1_000_000 };
    const budget = budgetAt('slide', now);
    for (let i = 0; i < 3; i++) expect(await budget.tryAcquire('run')).toEqual({ ok: true });
    const refused = await budget.tryAcquire('run');
    expect(refused).toEqual({ ok: false, waitMs: 60_000 });
    now.t += 30_000;
    expect(await budget.tryAcquire('run')).toEqual({ ok: false, waitMs: 30_000 });
    now.t += 30_001;
    expect(await budget.tryAcquire('run')).toEqual({ ok: true });
  });

  it('never lets more than the limit through around a window edge', async () => {
    const now = { t: 2_000_000 };
    const budget = budgetAt('edge', now);
    let granted = 0;
    // 1 attempt every 100 ms for 2 minutes: any 60 s span must hold at most 3 grants.
    const grants: number[] = [];
    for (let i = 0; i < 1200; i++) {
      if ((await budget.tryAcquire('run')).ok) {
        granted++;
        grants.push(now.t);
      }
      now.t += 100;
    }
    for (const start of grants)
      expect(grants.filter((g) => g >= start && g < start + 60_000).length).toBeLessThanOrEqual(3);
    expect(granted).toBe(6);
  });

  it('applies every window of a multi-window budget', async () => {
    const now = { t: 3_000_000 };
    const budget = budgetAt('multi', now);
    for (let i = 0; i < 5; i++) expect((await budget.tryAcquire('api')).ok).toBe(true);
    expect((await budget.tryAcquire('api')).ok).toBe(false);
    now.t += 1_001;
    for (let i = 0; i < 3; i++) expect((await budget.tryAcquire('api')).ok).toBe(true);
    const refused = await budget.tryAcquire('api');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.waitMs).toBeGreaterThan(50_000);
  });

  it('holds everyone off after a 429 for the Retry-After time', async () => {
    const now = { t: 4_000_000 };
    const budget = budgetAt('backoff', now);
    await budget.backOff('api', 7_000);
    expect(await budget.tryAcquire('api')).toEqual({ ok: false, waitMs: 7_000 });
    const other = budgetAt('backoff', now);
    expect(await other.peekWait('api')).toBe(7_000);
    expect(await budget.peekWait('run')).toBe(0);
    now.t += 7_000;
    expect(await budget.tryAcquire('api')).toEqual({ ok: true });
  });

  /** A budget of one call per `windowMs`, with the shipped skew margin and floor. */
  function oneCallPer(name: string, windowMs: number, now: { t: number }) {
    const keys = redisKeys(`${prefix}-${name}`);
    const clock = { now: () => now.t, nowIso: () => new Date(now.t).toISOString() };
    return createDefenderBudget({
      limiter: createSlidingWindowLimiter({ redis, clock, keyOf: keys.limiter }),
      runRate: { count: 1, durationMs: windowMs },
      apiRates: [{ count: 1, durationMs: windowMs }],
    });
  }

  it('counts each window a little longer than Defender does, for calls that arrive later than they took a slot', async () => {
    const now = { t: 6_000_000 };
    const budget = oneCallPer('margin', 60_000, now);
    expect((await budget.tryAcquire('run')).ok).toBe(true);
    now.t += 60_001;
    expect(await budget.tryAcquire('run')).toEqual({ ok: false, waitMs: 1_799 });
    now.t += 1_799;
    expect((await budget.tryAcquire('run')).ok).toBe(true);
  });

  it("lengthens a short window by at least a fixed floor, since the skew is the bot's own processing time", async () => {
    const now = { t: 7_000_000 };
    const budget = oneCallPer('floor', 3_000, now);
    expect((await budget.tryAcquire('run')).ok).toBe(true);
    now.t += 3_001;
    // 3% of 3 s would be 90 ms; the floor makes it 120 ms.
    expect(await budget.tryAcquire('run')).toEqual({ ok: false, waitMs: 119 });
    now.t += 119;
    expect((await budget.tryAcquire('run')).ok).toBe(true);
  });

  it('shares one budget between processes', async () => {
    const now = { t: 5_000_000 };
    const a = budgetAt('shared', now);
    const b = budgetAt('shared', now);
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).tryAcquire('run')));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
  });
});
