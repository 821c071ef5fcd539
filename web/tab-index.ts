// The personal tab's read model, kept from the audit stream: requests by requester, and requests that may still
// wait for a decision. The request store indexes by conversation only; "my requests across conversations" is
// derived here from the `requested` entries, catching up from a cursor on every read (idempotent, so two bot
// replicas catching up at once do no harm).
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import type { AuditEntry } from '../core/request-store.js';

/** Stream entries read per round trip while catching up. */
const BATCH = 1_000;
/** A person's list keeps this many newest requests. */
const KEEP_PER_PERSON = 500;

export interface TabIndex {
  /** Newest first: ids of requests this Entra object id asked for. */
  requestedBy(aadObjectId: string, limit: number): Promise<string[]>;
  /** Newest first: ids of requests not yet seen final by this index (the caller filters by state). */
  open(limit: number): Promise<string[]>;
  /** Forget ids the caller found decided or gone. */
  close(ids: string[]): Promise<void>;
}

export function createTabIndex(deps: { redis: Redis; keys: RedisKeys }): TabIndex {
  const { redis, keys } = deps;
  const cursorKey = keys.cache('tab-index:cursor');
  const personKey = (oid: string) => keys.cache(`tab-index:by:${oid.toLowerCase()}`);
  const openKey = keys.cache('tab-index:open');

  async function catchUp(): Promise<void> {
    let cursor = (await redis.get(cursorKey)) ?? '0';
    for (;;) {
      // Exclusive start `(id` (Redis 6.2+): entries after the cursor.
      const start = cursor === '0' ? '-' : `(${cursor}`;
      const entries = await redis.xrange(keys.audit(), start, '+', 'COUNT', BATCH);
      if (entries.length === 0) return;
      const pipeline = redis.pipeline();
      for (const [, fields] of entries) {
        const json = fields[fields.indexOf('entry') + 1];
        if (!json) continue;
        const entry = JSON.parse(json) as AuditEntry;
        if (entry.action !== 'requested') continue;
        const score = Date.parse(entry.at);
        if (entry.actor?.aadObjectId) {
          pipeline.zadd(personKey(entry.actor.aadObjectId), score, entry.requestId);
          pipeline.zremrangebyrank(personKey(entry.actor.aadObjectId), 0, -KEEP_PER_PERSON - 1);
        }
        pipeline.zadd(openKey, score, entry.requestId);
      }
      cursor = entries.at(-1)![0];
      pipeline.set(cursorKey, cursor);
      await pipeline.exec();
      if (entries.length < BATCH) return;
    }
  }

  return {
    async requestedBy(aadObjectId, limit) {
      await catchUp();
      return redis.zrevrange(personKey(aadObjectId), 0, limit - 1);
    },
    async open(limit) {
      await catchUp();
      return redis.zrevrange(openKey, 0, limit - 1);
    },
    async close(ids) {
      if (ids.length > 0) await redis.zrem(openKey, ...ids);
    },
  };
}
