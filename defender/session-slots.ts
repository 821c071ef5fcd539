// Live response sessions held by the bot: at most DEFENDER_MAX_SESSIONS at once, and one per device.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';

export type SlotClaim =
  | { ok: true }
  | { ok: false; reason: 'sessionsFull'; inUse: number }
  | { ok: false; reason: 'deviceBusy'; heldBy: string };

export interface SessionSlots {
  /** Idempotent: claiming again for the same request succeeds. */
  claim(requestId: string, machineId: string): Promise<SlotClaim>;
  release(requestId: string): Promise<void>;
  holders(): Promise<Record<string, string>>;
}

// KEYS: sessions hash, device lock. ARGV: request id, machine id, max sessions.
const CLAIM_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {1, ''} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return {0, 'device', holder} end
local used = redis.call('HLEN', KEYS[1])
if used >= tonumber(ARGV[3]) then return {0, 'full', tostring(used)} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return {1, ''}
`;

// KEYS: sessions hash, device lock of the machine the caller read from the hash. ARGV: request id, that machine id.
// The caller passes the device lock's key rather than the script building it from the hash: in a Redis Cluster a
// script may only touch keys it was given (they are how the cluster routes it), and a built name escapes that check.
const RELEASE_SCRIPT = `
local machine = redis.call('HGET', KEYS[1], ARGV[1])
if not machine then return 1 end
if machine ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`;

export function createSessionSlots(deps: {
  redis: Redis;
  keys: RedisKeys;
  maxSessions: number;
}): SessionSlots {
  const { redis, keys, maxSessions } = deps;
  return {
    async claim(requestId, machineId) {
      const [ok, reason, detail] = (await redis.eval(
        CLAIM_SCRIPT,
        2,
        keys.sessions(),
        keys.deviceLock(machineId),
        requestId,
        machineId,
        String(maxSessions),
      )) as [number, string, string?];
      if (ok === 1) return { ok: true };
      if (reason === 'device') return { ok: false, reason: 'deviceBusy', heldBy: detail ?? '' };
      return { ok: false, reason: 'sessionsFull', inUse: Number(detail ?? maxSessions) };
    },
    async release(requestId) {
      // A request holds one machine for its life, so the machine read here is still the one held when the script runs
      // (0 only if a release and a claim of the same request interleave: read again).
      for (let attempt = 0; attempt < 3; attempt++) {
        const machineId = await redis.hget(keys.sessions(), requestId);
        if (machineId === null) return;
        const released = await redis.eval(
          RELEASE_SCRIPT,
          2,
          keys.sessions(),
          keys.deviceLock(machineId),
          requestId,
          machineId,
        );
        if (released === 1) return;
      }
    },
    holders: () => redis.hgetall(keys.sessions()),
  };
}
