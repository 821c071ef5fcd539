// A rate limiter shared by every bot process: sliding windows in Redis plus a "blocked until" back-off.
import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { Rate } from './durations.js';
import type { BudgetLog } from './estimate-start.js';

export type LimiterGrant = { ok: true } | { ok: false; waitMs: number };

export interface SlidingWindowLimiter {
  /** Takes one slot from every window of `rates` under `key`, or says how long until one is free. */
  tryAcquire(key: string, rates: readonly Rate[]): Promise<LimiterGrant>;
  /**
   * Waits for a slot (sleeping until the limiter says one is free, with a little jitter) as long as the wait
   * stays within `maxWaitMs`; otherwise answers how long it would have had to wait.
   */
  acquire(key: string, rates: readonly Rate[], maxWaitMs: number): Promise<LimiterGrant>;
  /** How long until a slot would be free, without taking one. */
  peekWait(key: string, rates: readonly Rate[]): Promise<number>;
  /** Nobody gets a slot under `key` for `ms` (after a 429 with Retry-After). */
  block(key: string, ms: number): Promise<void>;
  /** The back-off and the slots taken in each window of `rates` (times in ms), to tell when later slots free. */
  log(key: string, rates: readonly Rate[]): Promise<BudgetLog & { now: number }>;
}

// Sliding windows rather than fixed ones: a fixed-window counter lets 2× the limit through around a window
// edge, which is exactly when Defender and Teams answer 429. One script checks the back-off and every window
// atomically, so concurrent processes cannot both take the last slot.
// KEYS: blocked-until, then one sorted set per window. ARGV: now, member, dry-run flag, then count,windowMs pairs.
const ACQUIRE_SCRIPT = `
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = 0
if blocked > now then wait = blocked - now end
for i = 2, #KEYS do
  local count = tonumber(ARGV[2 + (i - 1) * 2])
  local window = tonumber(ARGV[3 + (i - 1) * 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= count then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 or ARGV[3] == '1' then return wait end
for i = 2, #KEYS do
  local window = tonumber(ARGV[3 + (i - 1) * 2])
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], window)
end
return 0
`;

// Keeps the later of an existing back-off and the new one.
const BLOCK_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
`;

export function createSlidingWindowLimiter(deps: {
  redis: Redis;
  clock: Clock;
  /** Builds the Redis key for a limiter name. */
  keyOf: (name: string) => string;
}): SlidingWindowLimiter {
  const { redis, clock, keyOf } = deps;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  let sequence = 0;

  async function evaluate(key: string, rates: readonly Rate[], dryRun: boolean): Promise<number> {
    const now = clock.now();
    const member = `${now}-${process.pid}-${sequence++}-${Math.random().toString(36).slice(2, 8)}`;
    const wait = await redis.eval(
      ACQUIRE_SCRIPT,
      1 + rates.length,
      keyOf(`${key}:blocked-until`),
      ...rates.map((r) => keyOf(`${key}:${r.count}/${r.durationMs}`)),
      String(now),
      member,
      dryRun ? '1' : '0',
      ...rates.flatMap((r) => [String(r.count), String(r.durationMs)]),
    );
    return Number(wait);
  }

  async function tryAcquire(key: string, rates: readonly Rate[]): Promise<LimiterGrant> {
    const waitMs = await evaluate(key, rates, false);
    return waitMs > 0 ? { ok: false, waitMs } : { ok: true };
  }

  return {
    tryAcquire,
    async acquire(key, rates, maxWaitMs) {
      const deadline = clock.now() + maxWaitMs;
      for (;;) {
        const grant = await tryAcquire(key, rates);
        if (grant.ok || clock.now() + grant.waitMs > deadline) return grant;
        // A little jitter keeps processes that woke together from colliding again.
        await sleep(grant.waitMs + Math.floor(Math.random() * 50));
      }
    },
    peekWait: (key, rates) => evaluate(key, rates, true),
    async block(key, ms) {
      const duration = Math.max(ms, 1000);
      await redis.eval(
        BLOCK_SCRIPT,
        1,
        keyOf(`${key}:blocked-until`),
        String(clock.now() + duration),
        String(duration + 1000),
      );
    },
    async log(key, rates) {
      const now = clock.now();
      const since = now - Math.max(0, ...rates.map((r) => r.durationMs));
      const pipeline = redis.pipeline().get(keyOf(`${key}:blocked-until`));
      for (const r of rates)
        pipeline.zrangebyscore(keyOf(`${key}:${r.count}/${r.durationMs}`), `(${since}`, '+inf', 'WITHSCORES');
      const replies = (await pipeline.exec()) ?? [];
      const grants = (reply: unknown): number[] => {
        const flat = Array.isArray(reply) ? (reply as string[]) : [];
        return flat.filter((_, i) => i % 2 === 1).map(Number);
      };
      return {
        now,
        blockedUntil: Number(replies[0]?.[1] ?? 0) || 0,
        windows: rates.map((rate, i) => ({ rate, grants: grants(replies[i + 1]?.[1]) })),
      };
    },
  };
}
