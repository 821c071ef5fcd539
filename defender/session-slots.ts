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

// KEYS: sessions hash. ARGV: request id, device-lock key prefix.
const RELEASE_SCRIPT = `
local machine = redis.call('HGET', KEYS[1], ARGV[1])
if not machine then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local lock = ARGV[2] .. machine
if redis.call('GET', lock) == ARGV[1] then redis.call('DEL', lock) end
return 1
`;

export function createSessionSlots(deps: {
  redis: Redis;
  keys: RedisKeys;
  maxSessions: number;
}): SessionSlots {
  const { redis, keys, maxSessions } = deps;
  const lockPrefix = keys.deviceLock('');
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
      await redis.eval(RELEASE_SCRIPT, 1, keys.sessions(), requestId, lockPrefix);
    },
    holders: () => redis.hgetall(keys.sessions()),
  };
}
