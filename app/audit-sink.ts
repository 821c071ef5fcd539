// Every audit entry, once its Redis write committed, also goes out as one JSON line a SIEM can collect: on the log
// stream (marked `"type":"lr-bot.audit"`, level 100) or appended to a file of its own. Redis keeps the trail only
// for AUDIT_RETENTION; this line is the copy that outlives it.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { LiveResponseRequest } from '../core/request.js';
import type { AuditEntry, RequestStoreObserver } from '../core/request-store.js';
import { writeAuditLine } from './logger.js';
import type { OpsConfig } from './ops-config.js';

/** The marker a log pipeline filters on to route audit lines to the SIEM. */
export const AUDIT_LINE_TYPE = 'lr-bot.audit';

export interface AuditSink extends RequestStoreObserver {
  close(): void;
}

/** One audit record: the entry plus what a SIEM needs to correlate it without Redis (device, requester, state). */
function auditRecord(entry: AuditEntry, request: LiveResponseRequest | null): Record<string, unknown> {
  return {
    type: AUDIT_LINE_TYPE,
    at: entry.at,
    requestId: entry.requestId,
    action: entry.action,
    ...(entry.actor ? { actor: entry.actor } : {}),
    ...(entry.detail ? { detail: entry.detail } : {}),
    ...(request
      ? {
          state: request.state,
          version: request.version,
          tenantId: request.tenantId,
          requester: { name: request.requester.name, aadObjectId: request.requester.aadObjectId },
          device: { id: request.device.machineId, name: request.device.computerDnsName },
          ...(request.actionId ? { defenderActionId: request.actionId } : {}),
        }
      : {}),
  };
}

/**
 * `stdout`: one line on the log stream at level 100, above `fatal` (none with LOG_LEVEL=silent); `file:<path>`: one
 * JSON line appended to the file; `off`: Redis only.
 */
export function createAuditSink(sink: OpsConfig['audit']['sink'], logger: Logger): AuditSink {
  if (sink.kind === 'off') return { close() {} };
  if (sink.kind === 'stdout')
    return {
      audited(entry, request) {
        writeAuditLine(logger, auditRecord(entry, request));
      },
      close() {},
    };
  // Synchronous appends: the line is on disk before the caller goes on, and a crash right after loses no committed
  // decision. The volume is a handful of lines per request.
  const fd = openSync(sink.path, 'a', 0o640);
  return {
    audited(entry, request) {
      writeSync(fd, `${JSON.stringify(auditRecord(entry, request))}\n`);
    },
    close() {
      closeSync(fd);
    },
  };
}
