// The audit trail's life in Redis follows AUDIT_RETENTION: the global stream drops what aged out as new entries come
// in, and a finished request's own list expires after the retention (the record itself keeps its 30 days). Observers
// (the SIEM sink) hear of an entry only once Redis committed it. Real Redis, a key prefix of its own.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { newRequest } from '../core/new-request.js';
import { redisKeys } from '../core/redis-keys.js';
import { type AuditEntry, createRequestStore } from '../core/request-store.js';
import { REDIS_URL } from './support/start-stack.js';

const DAY_MS = 86_400_000;
const person = { teamsId: '29:alex', name: 'Alex Lead', aadObjectId: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92' };

function clockAt(offsetMs: number): Clock {
  return {
    now: () => Date.now() + offsetMs,
    nowIso: () => new Date(Date.now() + offsetMs).toISOString(),
  };
}

function request(id: string, now: number) {
  return newRequest({
    id,
    tenantId: 't1',
    conversationId: '19:x@thread.tacv2',
    conversationRef: {},
    requester: { teamsId: '29:riley', name: 'Riley' },
    device: { machineId: 'm'.repeat(40), computerDnsName: 'desktop-test.contoso.local' },
    commands: [{ type: 'RunScript', scriptName: 'whoami.ps1' }],
    approvers: [person],
    now,
    approvalTimeoutMs: 30 * 60_000,
  });
}

describe('audit retention', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `lrtest-audit-${process.pid}-${Date.now().toString(36)}`;
  const keys = redisKeys(prefix);

  beforeAll(async () => {
    await redis.ping();
  });
  afterAll(async () => {
    const found = await redis.keys(`${prefix}:*`);
    if (found.length > 0) await redis.del(...found);
    redis.disconnect();
  });

  it('expires a finished request’s audit list after AUDIT_RETENTION, apart from the record’s own TTL', async () => {
    const store = createRequestStore({ redis, keys, clock: clockAt(0), auditRetentionMs: 2 * DAY_MS });
    expect(await store.create(request('LR-RET001', Date.now()), { action: 'requested' })).toBe(true);
    expect(await redis.ttl(keys.requestAudit('LR-RET001'))).toBe(-1);
    const rejected = await store.transition(
      'LR-RET001',
      { type: 'reject', by: person, at: new Date().toISOString() },
      { action: 'rejected' },
    );
    expect(rejected.ok).toBe(true);
    const auditTtl = await redis.ttl(keys.requestAudit('LR-RET001'));
    expect(auditTtl).toBeGreaterThan(2 * 86_400 - 60);
    expect(auditTtl).toBeLessThanOrEqual(2 * 86_400);
    expect(await redis.ttl(keys.request('LR-RET001'))).toBeGreaterThan(29 * 86_400);
  });

  it('trims stream entries older than the retention as new ones are written', async () => {
    const store = createRequestStore({ redis, keys, clock: clockAt(0), auditRetentionMs: 50 });
    await store.audit('LR-RET002', { action: 'refused', detail: 'old' });
    await store.audit('LR-RET002', { action: 'refused', detail: 'old too' });
    // Longer than the 50 ms retention: the two entries above have aged out by the next write.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.audit('LR-RET002', { action: 'refused', detail: 'new' });
    const left = await redis.xrange(keys.audit(), '-', '+');
    expect(left.map(([, fields]) => (JSON.parse(fields[1]!) as AuditEntry).detail)).toEqual(['new']);
    // The request's own list keeps everything until the request ends and its retention runs out.
    expect(await redis.llen(keys.requestAudit('LR-RET002'))).toBe(3);
  });

  it('tells observers of an entry only after Redis has it, and a failing observer fails nothing', async () => {
    const heard: Array<{ action: string; inRedis: number }> = [];
    const store = createRequestStore({
      redis,
      keys,
      clock: clockAt(0),
      observers: [
        {
          audited: (entry) => {
            heard.push({ action: entry.action, inRedis: -1 });
            void redis.llen(keys.requestAudit(entry.requestId)).then((n) => {
              heard.find((h) => h.action === entry.action)!.inRedis = n;
            });
          },
        },
        {
          audited: () => {
            throw new Error('sink broken');
          },
        },
      ],
    });
    expect(await store.create(request('LR-RET003', Date.now()), { action: 'requested' })).toBe(true);
    const approved = await store.transition(
      'LR-RET003',
      { type: 'approve', by: person, at: new Date().toISOString() },
      { action: 'approved' },
    );
    expect(approved.ok).toBe(true);
    await redis.ping();
    expect(heard).toEqual([
      { action: 'requested', inRedis: 1 },
      { action: 'approved', inRedis: 2 },
    ]);
  });
});
