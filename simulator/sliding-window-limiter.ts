// Sliding-window rate limits on the simulator's clock, the way Defender counts "10 per minute" and "1500 per hour".

export interface WindowLimit {
  /** Calls allowed inside any window of `windowMs`. */
  limit: number;
  windowMs: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAt: number; limit: WindowLimit };

export interface SlidingWindowLimiter {
  /** Counts a call at `now` if every window has room; otherwise says when the tightest window frees a slot. */
  tryTake(now: number): TakeResult;
  reset(): void;
}

export function createSlidingWindowLimiter(limits: readonly WindowLimit[]): SlidingWindowLimiter {
  // One log of accepted call times, oldest first; pruned to the longest window so memory stays bounded.
  let log: number[] = [];
  const longest = Math.max(0, ...limits.map((l) => l.windowMs));

  return {
    tryTake(now) {
      log = log.filter((t) => t > now - longest);
      let blocked: { retryAt: number; limit: WindowLimit } | undefined;
      for (const limit of limits) {
        const inWindow = log.filter((t) => t > now - limit.windowMs);
        if (inWindow.length >= limit.limit) {
          // The call that must age out before one more fits is the (count - limit + 1)-th oldest.
          const oldest = inWindow[inWindow.length - limit.limit];
          const retryAt = (oldest ?? now) + limit.windowMs;
          if (!blocked || retryAt > blocked.retryAt) blocked = { retryAt, limit };
        }
      }
      if (blocked) return { ok: false, ...blocked };
      log.push(now);
      return { ok: true };
    },
    reset() {
      log = [];
    },
  };
}
