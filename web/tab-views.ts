// What the tab shows, shaped from the stored request: a list row and a detail with commands, transcripts, the audit
// trail and downloads. Pure; no Defender URL, link id or token ever appears in a view.
import { describeCommand, type LiveResponseCommand } from '../core/commands.js';
import { isFinal, type LiveResponseRequest, type RequestState } from '../core/request.js';
import type { AuditEntry } from '../core/request-store.js';
import { resultFileName } from '../core/result-file-name.js';

export interface RequestRow {
  id: string;
  state: RequestState;
  final: boolean;
  device: string;
  commands: string[];
  requester: string;
  /** Who decided (approved or rejected), when someone did. */
  approver?: string;
  decision?: 'approved' | 'rejected';
  createdAt: string;
  decidedAt?: string;
  finishedAt?: string;
  /** Per RunScript command that finished: its exit code (null = the result had none). */
  exitCodes: Array<number | null>;
  conversationId: string;
  /** Bumps on every change: the tab redraws only what changed. */
  version: number;
}

export interface CommandView {
  text: string;
  type: LiveResponseCommand['type'];
  status: string;
  errors: string[];
  exitCode?: number | null;
  output?: string;
  outputBytes?: number;
  outputTruncated?: boolean;
  scriptErrors?: string;
  resultError?: string;
  /** A result to download; `available` = its link is still valid (else ask for a fresh link). */
  download?: {
    index: number;
    fileName: string;
    expiresAt: string;
    available: boolean;
    /** Known once the bot has read the file whole (transcripts; files after their first download). */
    sizeBytes?: number;
    sha256?: string;
  };
}

export interface TrailEntry {
  at: string;
  action: string;
  by?: string;
  detail?: string;
}

export interface RequestDetail extends RequestRow {
  reason?: string;
  expiresAt: string;
  approvers: string[];
  deviceFacts: { os?: string; health?: string; risk?: string; lastSeen?: string };
  commandViews: CommandView[];
  failure?: string;
  trail: TrailEntry[];
  /** The signed-in person may approve or reject it now (same policy as the card; the server checks again). */
  canDecide: boolean;
  /** The signed-in person may ask for fresh download links. */
  canRefreshLinks: boolean;
}

export function toRow(request: LiveResponseRequest): RequestRow {
  const exitCodes: Array<number | null> = [];
  request.commands.forEach((command, index) => {
    const transcript = request.progress[index]?.transcript;
    if (command.type === 'RunScript' && transcript) exitCodes.push(transcript.exitCode);
  });
  return {
    id: request.id,
    state: request.state,
    final: isFinal(request.state),
    device: request.device.computerDnsName,
    commands: request.commands.map(describeCommand),
    requester: request.requester.name,
    ...(request.decision
      ? {
          approver: request.decision.by.name,
          decision: request.decision.kind,
          decidedAt: request.decision.at,
        }
      : {}),
    createdAt: request.createdAt,
    ...(request.finishedAt ? { finishedAt: request.finishedAt } : {}),
    exitCodes,
    conversationId: request.conversationId,
    version: request.version,
  };
}

/** The name a result downloads as: what the bot recorded when it read the file, else the shared naming rule. */
export function downloadName(request: LiveResponseRequest, index: number): string {
  return request.progress[index]?.file?.name ?? resultFileName(request, index);
}

export function toDetail(
  request: LiveResponseRequest,
  trail: AuditEntry[],
  viewer: { canDecide: boolean; now: number },
): RequestDetail {
  const commandViews = request.commands.map((command, index): CommandView => {
    const progress = request.progress[index];
    const transcript = progress?.transcript;
    const link = progress?.link;
    return {
      text: describeCommand(command),
      type: command.type,
      status: progress?.status ?? 'Created',
      errors: progress?.errors ?? [],
      ...(transcript
        ? {
            exitCode: transcript.exitCode,
            output: transcript.output,
            outputBytes: transcript.outputBytes,
            outputTruncated: transcript.outputTruncated,
            scriptErrors: transcript.errors,
          }
        : {}),
      ...(progress?.resultError ? { resultError: progress.resultError } : {}),
      ...(link
        ? {
            download: {
              index,
              fileName: downloadName(request, index),
              expiresAt: link.expiresAt,
              available: Date.parse(link.expiresAt) > viewer.now,
              ...(progress?.file ? { sizeBytes: progress.file.sizeBytes, sha256: progress.file.sha256 } : {}),
            },
          }
        : {}),
    };
  });
  return {
    ...toRow(request),
    ...(request.reason ? { reason: request.reason } : {}),
    expiresAt: request.expiresAt,
    approvers: request.approvers.map((a) => a.name),
    deviceFacts: {
      ...(request.device.osPlatform ? { os: request.device.osPlatform } : {}),
      ...(request.device.healthStatus ? { health: request.device.healthStatus } : {}),
      ...(request.device.riskScore ? { risk: request.device.riskScore } : {}),
      ...(request.device.lastSeen ? { lastSeen: request.device.lastSeen } : {}),
    },
    commandViews,
    ...(request.failure ? { failure: `${request.failure.code}: ${request.failure.message}` } : {}),
    trail: trail.map((entry) => ({
      at: entry.at,
      action: entry.action,
      ...(entry.actor ? { by: entry.actor.name } : {}),
      ...(entry.detail ? { detail: entry.detail } : {}),
    })),
    canDecide: viewer.canDecide,
    canRefreshLinks: Boolean(request.actionId),
  };
}
