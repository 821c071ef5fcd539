// Redis store of live response requests: atomic compare-and-set transitions, indexes and the audit trail; observers
// (the audit sink, metrics) hear of each change after it is committed, never before.
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

/** Default for how long a finished request stays in Redis (REQUEST_RETENTION): status, fresh links, audit context. */
export const DEFAULT_REQUEST_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** Default for how long audit entries stay in Redis (AUDIT_RETENTION). */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 3600 * 1000;
const MAX_CAS_RETRIES = 50;

// Stream ids are Redis's own clock in milliseconds: the oldest id kept is computed from that clock, not the bot's.
const MIN_ID_OF = `
local function minIdOf(retentionMs)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return tostring(math.max(0, now - tonumber(retentionMs))) .. '-0'
end
`;

// One script does the compare-and-set and keeps the indexes and the audit trail in step with the record.
const CAS_SCRIPT = `${MIN_ID_OF}
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'doc', ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MINID', minIdOf(ARGV[10]), '*', 'entry', ARGV[4])
  redis.call('RPUSH', KEYS[3], ARGV[4])
end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5]) else redis.call('ZREM', KEYS[4], ARGV[5]) end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[5], 'NX', ARGV[7], ARGV[5]) else redis.call('ZREM', KEYS[5], ARGV[5]) end
if ARGV[8] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[8])
  redis.call('EXPIRE', KEYS[3], ARGV[9])
end
redis.call('ZADD', KEYS[6], ARGV[11], ARGV[5])
return 1
`;

// Drops a request from the reconciler's index only if it has not changed since the reconciler looked at it.
const SETTLE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'v')
if current and current ~= ARGV[2] then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])
`;

// An audit entry without a state change: into the stream (trimmed as above) and the request's list, together.
const AUDIT_SCRIPT = `${MIN_ID_OF}
redis.call('XADD', KEYS[1], 'MINID', minIdOf(ARGV[2]), '*', 'entry', ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
`;

/** What observers hear after a write committed: the request before (null when created) and after, and its audit entry. */
export interface CommittedChange {
  before: LiveResponseRequest | null;
  after: LiveResponseRequest;
  audit: AuditEntry | null;
}

/** Told of every committed change and audit entry, after the atomic write; a throwing observer never fails the write. */
export interface RequestStoreObserver {
  committed?(change: CommittedChange): void;
  /** Every audit entry, with or without a state change (a refused click, a download). */
  audited?(entry: AuditEntry, request: LiveResponseRequest | null): void;
}

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
  /**
   * Requests the reconciler must look at (every change puts a request here, see `settle`), oldest change first, last
   * changed before `changedBefore` (ms), each with when it last changed (ms).
   */
  unsettled(changedBefore: number, limit: number): Promise<Array<[id: string, changedAt: number]>>;
  /** Puts requests written before the index existed into it (as changed now); ids already there keep their time. */
  trackUnsettled(ids: string[]): Promise<void>;
  /** Nothing more will follow for this request: drop it from the index, unless it changed since `version`. */
  settle(id: string, version: number): Promise<boolean>;
}

export function actorOf(person: Person): NonNullable<AuditEntry['actor']> {
  return {
    name: person.name,
    teamsId: person.teamsId,
    ...(person.aadObjectId ? { aadObjectId: person.aadObjectId } : {}),
  };
}

export function createRequestStore(deps: {
  redis: Redis;
  keys: RedisKeys;
  clock: Clock;
  /** How long audit entries stay in Redis: the stream is trimmed to this age, a finished request's list expires after it. */
  auditRetentionMs?: number;
  /** How long a finished request's record (and its place in its conversation's list) stays. Default 30 days. */
  requestRetentionMs?: number;
  observers?: RequestStoreObserver[];
}): RequestStore {
  const { redis, keys, clock } = deps;
  const retentionMs = deps.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
  const observers = deps.observers ?? [];
  /** Stream entries older than this are trimmed as each new one is added (exact `MINID`: only what aged out). */
  const retention = String(retentionMs);

  function notify(change: CommittedChange): void {
    for (const observer of observers) {
      try {
        observer.committed?.(change);
        if (change.audit) observer.audited?.(change.audit, change.after);
      } catch {
        // Observers report; they never undo or fail a committed write.
      }
    }
  }

  function indexArgs(request: LiveResponseRequest): [string, string, string] {
    const final = isFinal(request.state);
    const inflight = !final && request.actionId ? String(Date.parse(request.createdAt)) : '';
    // A fan-out parent is never submitted (its devices' requests are): it waits in no queue.
    const queued =
      !final &&
      !request.actionId &&
      !request.fanOut &&
      (request.state === 'Approved' || request.state === 'Submitting')
        ? String(Date.parse(request.decision?.at ?? request.createdAt))
        : '';
    return [inflight, queued, final ? finishedTtlSeconds : ''];
  }

  const requestRetentionMs = deps.requestRetentionMs ?? DEFAULT_REQUEST_RETENTION_MS;
  const finishedTtlSeconds = String(Math.max(1, Math.ceil(requestRetentionMs / 1000)));

  const auditTtlSeconds = () => String(Math.max(1, Math.ceil(retentionMs / 1000)));

  async function cas(
    request: LiveResponseRequest,
    expectedVersion: number | null,
    audit: AuditEntry | null,
  ): Promise<boolean> {
    const [inflight, queued, ttl] = indexArgs(request);
    const result = await redis.eval(
      CAS_SCRIPT,
      6,
      keys.request(request.id),
      keys.audit(),
      keys.requestAudit(request.id),
      keys.inflight(),
      keys.queue(),
      keys.unsettled(),
      expectedVersion === null ? '' : String(expectedVersion),
      JSON.stringify(request),
      String(request.version),
      audit ? JSON.stringify(audit) : '',
      request.id,
      inflight,
      queued,
      ttl,
      auditTtlSeconds(),
      retention,
      String(clock.now()),
    );
    return result === 1;
  }

  async function load(id: string): Promise<LiveResponseRequest | null> {
    const doc = await redis.hget(keys.request(id), 'doc');
    return doc ? (JSON.parse(doc) as LiveResponseRequest) : null;
  }

  return {
    async create(request, audit) {
      const entry: AuditEntry = { ...audit, at: clock.nowIso(), requestId: request.id };
      const created = await cas(request, null, entry);
      if (created) notify({ before: null, after: request, audit: entry });
      // A fan-out's device requests are listed through their parent (its card and `status`), not one by one.
      if (created && !request.parentId) {
        const conversation = keys.conversation(request.conversationId);
        await redis.zadd(conversation, Date.parse(request.createdAt), request.id);
        // Ids older than the retention name records that have expired: the list would otherwise grow for ever.
        await redis.zremrangebyscore(conversation, '-inf', `(${clock.now() - requestRetentionMs}`);
      }
      return created;
    },

    get: load,

    async transition(id, eventOrFn, audit) {
      for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
        const current = await load(id);
        if (!current) return { ok: false, error: 'NotFound', message: `There is no request ${id}.` };
        const event = typeof eventOrFn === 'function' ? eventOrFn(current) : eventOrFn;
        if (!event) return { ok: true, request: current, changed: false, effects: [] };
        const result = applyEvent(current, event);
        if (!result.ok || !result.changed) return result;
        const entry = audit ? { ...audit, at: clock.nowIso(), requestId: id } : null;
        if (await cas(result.request, current.version, entry)) {
          notify({ before: current, after: result.request, audit: entry });
          return result;
        }
      }
      throw new Error(`Request ${id} is being changed too often to update; try again.`);
    },

    async audit(requestId, entry) {
      const full: AuditEntry = { ...entry, at: clock.nowIso(), requestId };
      const json = JSON.stringify(full);
      await redis.eval(AUDIT_SCRIPT, 2, keys.audit(), keys.requestAudit(requestId), json, retention);
      const request = observers.length > 0 ? await load(requestId).catch(() => null) : null;
      for (const observer of observers) {
        try {
          observer.audited?.(full, request);
        } catch {
          // As above: reporting never fails the write.
        }
      }
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

    async unsettled(changedBefore, limit) {
      const flat = await redis.zrangebyscore(
        keys.unsettled(),
        '-inf',
        String(changedBefore),
        'WITHSCORES',
        'LIMIT',
        0,
        limit,
      );
      const pairs: Array<[string, number]> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
      return pairs;
    },

    async trackUnsettled(ids) {
      if (ids.length === 0) return;
      const now = clock.now();
      await redis.zadd(keys.unsettled(), 'NX', ...ids.flatMap((id) => [now, id]));
    },

    async settle(id, version) {
      const removed = await redis.eval(
        SETTLE_SCRIPT,
        2,
        keys.request(id),
        keys.unsettled(),
        id,
        String(version),
      );
      return removed === 1;
    },
  };
}
