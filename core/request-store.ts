// Redis store of live response requests: atomic compare-and-set transitions, indexes and the audit trail.
import type { Redis } from 'ioredis';
import type { Clock } from './clock.js';
import type { RedisKeys } from './redis-keys.js';
import { isFinal, type LiveResponseRequest, type Person } from './request.js';
import { applyEvent, type RequestEvent, type TransitionResult } from './request-machine.js';

export interface AuditEntry {
  at: string;
  requestId: string;
  /** `requested`, `approved`, `rejected`, `expired`, `cancel`, `submitted`, `refused`, … */
  action: string;
  actor?: { name: string; aadObjectId?: string; teamsId?: string };
  detail?: string;
}

/** How long a finished request stays in Redis (status, fresh links, audit context). */
const FINISHED_TTL_SECONDS = 30 * 24 * 3600;
const MAX_CAS_RETRIES = 50;

// One script does the compare-and-set and keeps the indexes and the audit trail in step with the record.
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'doc', ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'entry', ARGV[4])
  redis.call('RPUSH', KEYS[3], ARGV[4])
end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5]) else redis.call('ZREM', KEYS[4], ARGV[5]) end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[5], 'NX', ARGV[7], ARGV[5]) else redis.call('ZREM', KEYS[5], ARGV[5]) end
if ARGV[8] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[8])
  redis.call('EXPIRE', KEYS[3], ARGV[8])
end
return 1
`;

export type StoreTransitionResult = TransitionResult | { ok: false; error: 'NotFound'; message: string };

export interface RequestStore {
  create(request: LiveResponseRequest, audit: Omit<AuditEntry, 'at' | 'requestId'>): Promise<boolean>;
  get(id: string): Promise<LiveResponseRequest | null>;
  /** Applies an event atomically (retrying on concurrent writers); audits it when it changed something. */
  transition(
    id: string,
    event: RequestEvent | ((request: LiveResponseRequest) => RequestEvent | null),
    audit?: Omit<AuditEntry, 'at' | 'requestId'>,
  ): Promise<StoreTransitionResult>;
  /** Records an audit entry with no state change (e.g. a refused click). */
  audit(requestId: string, entry: Omit<AuditEntry, 'at' | 'requestId'>): Promise<void>;
  auditTrail(id: string): Promise<AuditEntry[]>;
  listByConversation(conversationId: string, limit: number): Promise<LiveResponseRequest[]>;
  inflightIds(): Promise<string[]>;
  queuedIds(): Promise<string[]>;
  /** 1-based position among approved requests waiting to be submitted; null when not queued. */
  queuePosition(id: string): Promise<number | null>;
}

export function actorOf(person: Person): NonNullable<AuditEntry['actor']> {
  return {
    name: person.name,
    teamsId: person.teamsId,
    ...(person.aadObjectId ? { aadObjectId: person.aadObjectId } : {}),
  };
}

export function createRequestStore(deps: { redis: Redis; keys: RedisKeys; clock: Clock }): RequestStore {
  const { redis, keys, clock } = deps;

  function indexArgs(request: LiveResponseRequest): [string, string, string] {
    const final = isFinal(request.state);
    const inflight = !final && request.actionId ? String(Date.parse(request.createdAt)) : '';
    const queued =
      !final && !request.actionId && (request.state === 'Approved' || request.state === 'Submitting')
        ? String(Date.parse(request.decision?.at ?? request.createdAt))
        : '';
    return [inflight, queued, final ? String(FINISHED_TTL_SECONDS) : ''];
  }

  async function cas(
    request: LiveResponseRequest,
    expectedVersion: number | null,
    audit: AuditEntry | null,
  ): Promise<boolean> {
    const [inflight, queued, ttl] = indexArgs(request);
    const result = await redis.eval(
      CAS_SCRIPT,
      5,
      keys.request(request.id),
      keys.audit(),
      keys.requestAudit(request.id),
      keys.inflight(),
      keys.queue(),
      expectedVersion === null ? '' : String(expectedVersion),
      JSON.stringify(request),
      String(request.version),
      audit ? JSON.stringify(audit) : '',
      request.id,
      inflight,
      queued,
      ttl,
    );
    return result === 1;
  }

  async function load(id: string): Promise<LiveResponseRequest | null> {
    const doc = await redis.hget(keys.request(id), 'doc');
    return doc ? (JSON.parse(doc) as LiveResponseRequest) : null;
  }

  return {
    async create(request, audit) {
      const created = await cas(request, null, { ...audit, at: clock.nowIso(), requestId: request.id });
      if (created)
        await redis.zadd(
          keys.conversation(request.conversationId),
          Date.parse(request.createdAt),
          request.id,
        );
      return created;
    },

    get: load,

    async transition(id, eventOrFn, audit) {
      for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
        const current = await load(id);
        if (!current) return { ok: false, error: 'NotFound', message: `There is no request ${id}.` };
        const event = typeof eventOrFn === 'function' ? eventOrFn(current) : eventOrFn;
        if (!event) return { ok: true, request: current, changed: false };
        const result = applyEvent(current, event);
        if (!result.ok || !result.changed) return result;
        const entry = audit ? { ...audit, at: clock.nowIso(), requestId: id } : null;
        if (await cas(result.request, current.version, entry)) return result;
      }
      throw new Error(`Request ${id} is being changed too often to update; try again.`);
    },

    async audit(requestId, entry) {
      const json = JSON.stringify({ ...entry, at: clock.nowIso(), requestId });
      await redis
        .multi()
        .xadd(keys.audit(), 'MAXLEN', '~', '100000', '*', 'entry', json)
        .rpush(keys.requestAudit(requestId), json)
        .exec();
    },

    async auditTrail(id) {
      const entries = await redis.lrange(keys.requestAudit(id), 0, -1);
      return entries.map((e) => JSON.parse(e) as AuditEntry);
    },

    async listByConversation(conversationId, limit) {
      const ids = await redis.zrevrange(keys.conversation(conversationId), 0, limit - 1);
      const requests = await Promise.all(ids.map(load));
      return requests.filter((r): r is LiveResponseRequest => r !== null);
    },

    inflightIds: () => redis.zrange(keys.inflight(), 0, -1),
    queuedIds: () => redis.zrange(keys.queue(), 0, -1),

    async queuePosition(id) {
      const rank = await redis.zrank(keys.queue(), id);
      return rank === null ? null : rank + 1;
    },
  };
}
