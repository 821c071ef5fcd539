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
  return async () => {
    const cached = await deps.redis.get(key);
    if (cached) return JSON.parse(cached) as LibraryFile[];
    const files = await deps.defender.listLibraryFiles();
    await deps.redis.set(key, JSON.stringify(files), 'EX', deps.ttlSeconds ?? 300);
    return files;
  };
}
