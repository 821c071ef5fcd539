// The live response library, cached in Redis for a few minutes: every request checks it, and it rarely changes.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import type { DefenderApi } from './defender-client.js';
import type { LibraryFile } from './types.js';

export function createLibraryCache(deps: {
  redis: Redis;
  keys: RedisKeys;
  defender: DefenderApi;
  ttlSeconds?: number;
}): () => Promise<LibraryFile[]> {
  const key = deps.keys.cache('library');
  // Requests that miss the cache together share one Defender call: a burst of N messages after the cache expired
  // would otherwise spend N calls of the API budget (100/min, shared with polling) on the same list.
  let inFlight: Promise<LibraryFile[]> | undefined;
  const fetchAndCache = async (): Promise<LibraryFile[]> => {
    const files = await deps.defender.listLibraryFiles();
    await deps.redis.set(key, JSON.stringify(files), 'EX', deps.ttlSeconds ?? 300);
    return files;
  };
  return async () => {
    const cached = await deps.redis.get(key);
    if (cached) return JSON.parse(cached) as LibraryFile[];
    inFlight ??= fetchAndCache().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
