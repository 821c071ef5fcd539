// When the requests waiting in line could start, computed from the sliding windows of Defender's run budget: the
// calls already made in each window and any back-off decide when the 1st, 2nd, … next call may go.
import type { Rate } from './durations.js';

/** One window of the budget as the limiter holds it: its rate and the times (ms) of the calls counted in it. */
export interface BudgetWindowLog {
  rate: Rate;
  grants: readonly number[];
}

export interface BudgetLog {
  /** Nobody may call before this (a 429's Retry-After); 0 when not blocked. */
  blockedUntil: number;
  windows: readonly BudgetWindowLog[];
}

/**
 * The earliest times (ms, ascending) at which the next `count` calls could be made, each taking its slot as soon as
 * every window allows it. A sliding window of `count` calls per `duration` lets a call go at `t` when fewer than
 * `count` calls fall in `(t - duration, t]`: the call `count` places back must be at or before `t - duration`.
 * The times are the budget's alone: a request that also waits for a free session or its device starts later.
 */
export function estimateStarts(log: BudgetLog, now: number, count: number): number[] {
  const calls = log.windows.map((window) => ({
    rate: window.rate,
    times: window.grants.filter((t) => t > now - window.rate.durationMs).sort((a, b) => a - b),
  }));
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    let at = Math.max(now, log.blockedUntil);
    for (const { rate, times } of calls) {
      const leaving = times[times.length - rate.count];
      if (leaving !== undefined) at = Math.max(at, leaving + rate.durationMs);
    }
    for (const window of calls) window.times.push(at);
    starts.push(at);
  }
  return starts;
}

/** `1st`, `2nd`, `3rd`, `4th`, `11th`, `12th`, `13th`, `21st`, `112th`. */
export function ordinal(place: number): string {
  const tens = place % 100;
  if (tens >= 11 && tens <= 13) return `${place}th`;
  switch (place % 10) {
    case 1:
      return `${place}st`;
    case 2:
      return `${place}nd`;
    case 3:
      return `${place}rd`;
    default:
      return `${place}th`;
  }
}
