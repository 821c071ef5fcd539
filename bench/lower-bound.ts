// The fastest any client could finish a burst under Defender's limits: the analytic lower bound of the makespan.

export interface BoundInput {
  /** Requests in the burst. */
  requests: number;
  /** `runliveresponse` calls allowed per `windowMs` (Defender: 10 per minute). */
  runsPerWindow: number;
  windowMs: number;
  /** Concurrent live response sessions (Defender: 25). */
  maxSessions: number;
  /** How long one action holds its session: pickup + every command, in the same unit as `windowMs`. */
  actionMs: number;
}

export interface Bound {
  /** When each request could start at the earliest, in order. */
  starts: number[];
  /** When each could finish: `starts[k] + actionMs`. */
  ends: number[];
  makespanMs: number;
  /** Which limit decides the last start. */
  binding: 'run rate' | 'sessions' | 'both';
  /** The two closed forms whose maximum this is (see `FORMULA`). */
  rateBoundMs: number;
  sessionBoundMs: number;
}

/**
 * With N identical actions of duration D, a run budget of R per sliding window W and C sessions, request k (from 0)
 * cannot start before ⌊k/R⌋·W (at most R starts in any window) nor before request k−C has ended (C sessions):
 * s_k = max(⌊k/R⌋·W, s_{k−C} + D). The makespan is at least s_{N−1} + D, which is
 * max((⌈N/R⌉−1)·W + D, ⌈N/C⌉·D) when only one limit binds (the recurrence is exact when both do).
 */
export const FORMULA =
  'T_min = s_(N−1) + D, s_k = max(⌊k/R⌋·W, s_(k−C) + D)  ⇒  T_min = max((⌈N/R⌉−1)·W + D, ⌈N/C⌉·D) when one limit binds';

export function makespanLowerBound(input: BoundInput): Bound {
  const { requests: n, runsPerWindow: r, windowMs: w, maxSessions: c, actionMs: d } = input;
  const starts: number[] = [];
  let rateBinds = false;
  let sessionBinds = false;
  for (let k = 0; k < n; k++) {
    const byRate = Math.floor(k / r) * w;
    const bySessions = k >= c ? starts[k - c]! + d : 0;
    starts.push(Math.max(byRate, bySessions));
    if (k === n - 1) {
      rateBinds = byRate >= bySessions;
      sessionBinds = bySessions >= byRate;
    }
  }
  const ends = starts.map((s) => s + d);
  return {
    starts,
    ends,
    makespanMs: n === 0 ? 0 : ends[n - 1]!,
    binding: rateBinds && sessionBinds ? 'both' : rateBinds ? 'run rate' : 'sessions',
    rateBoundMs: (Math.ceil(n / r) - 1) * w + d,
    sessionBoundMs: Math.ceil(n / c) * d,
  };
}
