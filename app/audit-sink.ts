// Every audit entry, once its Redis write committed, also goes out as one JSON line a SIEM can collect: on stdout
// among the logs (marked `"type":"lr-bot.audit"`) or appended to a file of its own. Redis keeps the trail only for
// AUDIT_RETENTION; this line is the copy that outlives it.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LiveResponseRequest } from '../core/request.js';
import type { AuditEntry, RequestStoreObserver } from '../core/request-store.js';
import type { OpsConfig } from './ops-config.js';

/** The marker a log pipeline filters on to route audit lines to the SIEM. */
export const AUDIT_LINE_TYPE = 'lr-bot.audit';

export interface AuditSink extends RequestStoreObserver {
  close(): void;
}

/** One audit line: the entry plus what a SIEM needs to correlate it without Redis (device, requester, state). */
export function auditLine(entry: AuditEntry, request: LiveResponseRequest | null): string {
  return JSON.stringify({
    type: AUDIT_LINE_TYPE,
    time: entry.at,
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
  });
}

export function createAuditSink(
  sink: OpsConfig['audit']['sink'],
  stdout: NodeJS.WritableStream = process.stdout,
): AuditSink {
  if (sink.kind === 'off') return { close() {} };
  // Synchronous appends: the line is on disk (or in the pipe) before the caller goes on, and a crash right after
  // loses no committed decision. The volume is a handful of lines per request.
  const fd = sink.kind === 'file' ? openSync(sink.path, 'a', 0o640) : undefined;
  const write = (text: string) => {
    if (fd === undefined) stdout.write(text);
    else writeSync(fd, text);
  };
  return {
    audited(entry, request) {
      write(`${auditLine(entry, request)}\n`);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
    },
  };
}
