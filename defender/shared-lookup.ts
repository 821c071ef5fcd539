// A Defender list read shared by every bot process for a short time: the live response library (minutes) and the
// actions running in the tenant (a second). Callers that miss together share one call, so a burst of N messages
// spends one call of the API budget (100/min, shared with polling) instead of N.
import type { Redis } from 'ioredis';

export function createSharedLookup<T>(deps: {
  redis: Redis;
  /** Redis key of the cached value. */
  key: string;
  ttlMs: number;
  fetch: () => Promise<T>;
}): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  const fetchAndCache = async (): Promise<T> => {
    const value = await deps.fetch();
    await deps.redis.set(deps.key, JSON.stringify(value), 'PX', deps.ttlMs);
    return value;
  };
  return async () => {
    const cached = await deps.redis.get(deps.key);
    if (cached) return JSON.parse(cached) as T;
    inFlight ??= fetchAndCache().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
