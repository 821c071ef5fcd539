import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import type { DefenderApi } from './defender-client.js';
import { createLibraryCache } from './library-cache.js';
import type { LibraryFile } from './types.js';

/** Just the GET/SET the cache uses, in memory. */
function fakeRedis(): Redis {
  const values = new Map<string, string>();
  return {
    get: async (key: string) => values.get(key) ?? null,
    set: async (key: string, value: string) => {
      values.set(key, value);
      return 'OK';
    },
  } as unknown as Redis;
}

function countingDefender(files: LibraryFile[]): { defender: DefenderApi; calls: () => number } {
  let calls = 0;
  const defender = {
    listLibraryFiles: async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return files;
    },
  } as unknown as DefenderApi;
  return { defender, calls: () => calls };
}

describe('createLibraryCache', () => {
  const files: LibraryFile[] = [{ fileName: 'minidump.ps1' }];

  it('lets requests that miss the cache together share one Defender call', async () => {
    const { defender, calls } = countingDefender(files);
    const library = createLibraryCache({ redis: fakeRedis(), keys: redisKeys('t'), defender });
    const answers = await Promise.all(Array.from({ length: 20 }, () => library()));
    expect(calls()).toBe(1);
    expect(answers.every((a) => a[0]?.fileName === 'minidump.ps1')).toBe(true);
    await library();
    expect(calls()).toBe(1);
  });

  it('calls Defender again after a failed fetch', async () => {
    let fail = true;
    const defender = {
      listLibraryFiles: async () => {
        if (fail) throw new Error('throttled');
        return files;
      },
    } as unknown as DefenderApi;
    const library = createLibraryCache({ redis: fakeRedis(), keys: redisKeys('t'), defender });
    await expect(library()).rejects.toThrow('throttled');
    fail = false;
    expect(await library()).toEqual(files);
  });
});
