// Shared Defender look-ups against the real Redis: one call for a burst, cached for its time, then asked again.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSharedLookup } from '../defender/shared-lookup.js';
import { REDIS_URL } from './support/start-stack.js';

const redis = new Redis(REDIS_URL);
const prefix = `lrtest-lookup-${process.pid}-${Date.now()}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function counting(key: string, ttlMs: number) {
  let calls = 0;
  const lookup = createSharedLookup({
    redis,
    key: `${prefix}:${key}`,
    ttlMs,
    fetch: async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return [{ fileName: 'minidump.ps1', call: calls }];
    },
  });
  return { lookup, calls: () => calls };
}

describe('createSharedLookup', () => {
  it('lets callers that miss together share one Defender call', async () => {
    const { lookup, calls } = counting('burst', 60_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => lookup()));
    expect(calls()).toBe(1);
    expect(answers.every((a) => a[0]?.fileName === 'minidump.ps1')).toBe(true);
  });

  it('serves other processes from Redis until the value expires, then asks again', async () => {
    const first = counting('ttl', 200);
    const second = counting('ttl', 200);
    await first.lookup();
    expect((await second.lookup())[0]?.call).toBe(1);
    expect(second.calls()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await second.lookup();
    expect(second.calls()).toBe(1);
  });
});
