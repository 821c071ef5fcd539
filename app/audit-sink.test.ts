import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../core/request-store.js';
import { AUDIT_LINE_TYPE, createAuditSink } from './audit-sink.js';
import { createLogger } from './logger.js';

const entry: AuditEntry = {
  at: '2026-01-01T10:00:00.000Z',
  requestId: 'LR-7K3F9Q',
  action: 'approved',
  actor: { name: 'Alex Lead', aadObjectId: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92' },
};

function lines() {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { written, stream };
}

describe('createAuditSink', () => {
  it('writes one marked JSON line on the log stream, even when LOG_LEVEL hides everything else', () => {
    const { written, stream } = lines();
    const logger = createLogger('fatal', stream);
    const sink = createAuditSink({ kind: 'stdout' }, logger);
    logger.error('not shown');
    sink.audited?.(entry, null);
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({
      level: 100,
      type: AUDIT_LINE_TYPE,
      requestId: 'LR-7K3F9Q',
      action: 'approved',
      actor: { name: 'Alex Lead' },
      at: '2026-01-01T10:00:00.000Z',
    });
  });

  it('writes nothing on the log stream with LOG_LEVEL=silent (the file sink is for that)', () => {
    const { written, stream } = lines();
    createAuditSink({ kind: 'stdout' }, createLogger('silent', stream)).audited?.(entry, null);
    expect(written).toEqual([]);
  });

  it('appends one JSON line per entry to a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lr-audit-'));
    try {
      const path = join(dir, 'audit.jsonl');
      const sink = createAuditSink({ kind: 'file', path }, createLogger('silent'));
      sink.audited?.(entry, null);
      sink.audited?.({ ...entry, action: 'submitted', actor: undefined, detail: 'Defender action a1' }, null);
      sink.close();
      const read = (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntry);
      expect(read.map((l) => l.action)).toEqual(['approved', 'submitted']);
      expect(read[1]).not.toHaveProperty('actor');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
