// Defender's call budget, shared by every bot process: `runliveresponse` and the other calls have separate limits.
import type { Rate } from '../core/durations.js';
import { estimateStarts } from '../core/estimate-start.js';
import type { SlidingWindowLimiter } from '../core/sliding-window-limiter.js';

export type BudgetKind = 'run' | 'api';

export type BudgetGrant = { ok: true } | { ok: false; waitMs: number };

export class BudgetExhaustedError extends Error {
  constructor(
    readonly kind: BudgetKind,
    readonly waitMs: number,
  ) {
    super(
      `Defender's ${kind === 'run' ? 'live response' : 'API'} rate limit is used up for the next ${Math.ceil(waitMs / 1000)}s.`,
    );
    this.name = 'BudgetExhaustedError';
  }
}

export interface DefenderBudget {
  /** Takes one call from every window of the budget, or says how long until one is free. */
  tryAcquire(kind: BudgetKind): Promise<BudgetGrant>;
  /** Waits (up to maxWaitMs) for a call; throws BudgetExhaustedError when the wait would be longer. */
  acquire(kind: BudgetKind, maxWaitMs: number): Promise<void>;
  /** Defender answered 429: every process holds off this kind of call for retryAfterMs. */
  backOff(kind: BudgetKind, retryAfterMs: number): Promise<void>;
  /** Milliseconds until the earliest call of this kind could be made (0 = now). */
  peekWait(kind: BudgetKind): Promise<number>;
  /** The earliest times (ms) the next `count` calls of this kind could be made, by the windows as they stand. */
  schedule(kind: BudgetKind, count: number): Promise<number[]>;
}

/**
 * How much longer than Defender's each window of the budget is. Defender counts a call when it arrives; the budget
 * counts it when the slot is taken, before the Redis round trip, the bookkeeping and the HTTP request. When the call
 * R slots back reached Defender later after its slot than this one does, Defender still holds R calls in its window
 * and answers 429, and every 429 holds that kind of call off for at least a second. The benchmark (`npm run bench`,
 * windows compressed 20×) saw up to 76 ms of such skew in a 3 s window on a busy host, 2.5%; 3% of Defender's
 * one-minute windows is 1.8 s, more than network jitter, for 3% of the throughput.
 */
export const ARRIVAL_SKEW_MARGIN = 0.03;

/**
 * The margin is never less than this: the skew is the bot's own processing (Redis round trips, a busy event loop),
 * a fixed amount of time whatever the window. Production's one-minute windows get 1.8 s from the 3% anyway; the
 * benchmark's windows, compressed to 3 s, would otherwise get 90 ms, less than a busy host's skew (up to ~100 ms
 * seen), and one 429 on `runliveresponse` costs a whole second of back-off.
 */
export const ARRIVAL_SKEW_FLOOR_MS = 120;

export function createDefenderBudget(deps: {
  limiter: SlidingWindowLimiter;
  runRate: Rate;
  apiRates: Rate[];
  /** Fraction each window is lengthened by. Default ARRIVAL_SKEW_MARGIN. */
  skewMargin?: number;
  /** Least the window is lengthened by. Default ARRIVAL_SKEW_FLOOR_MS. */
  skewFloorMs?: number;
}): DefenderBudget {
  const { limiter } = deps;
  const margin = deps.skewMargin ?? ARRIVAL_SKEW_MARGIN;
  const floorMs = deps.skewFloorMs ?? ARRIVAL_SKEW_FLOOR_MS;
  const widen = (rate: Rate): Rate => ({
    count: rate.count,
    durationMs: rate.durationMs + Math.max(Math.ceil(rate.durationMs * margin), floorMs),
  });
  const rates: Record<BudgetKind, Rate[]> = { run: [widen(deps.runRate)], api: deps.apiRates.map(widen) };
  const key = (kind: BudgetKind) => `defender-${kind}`;

  return {
    tryAcquire: (kind) => limiter.tryAcquire(key(kind), rates[kind]),
    async acquire(kind, maxWaitMs) {
      const grant = await limiter.acquire(key(kind), rates[kind], maxWaitMs);
      if (!grant.ok) throw new BudgetExhaustedError(kind, grant.waitMs);
    },
    backOff: (kind, retryAfterMs) => limiter.block(key(kind), retryAfterMs),
    peekWait: (kind) => limiter.peekWait(key(kind), rates[kind]),
    async schedule(kind, count) {
      const log = await limiter.log(key(kind), rates[kind]);
      return estimateStarts(log, log.now, count);
    },
  };
}
