// The durable live response request record: what Redis stores and what cards render.
import type { LiveResponseCommand } from './commands.js';
import type { FanOut } from './fan-out.js';
import type { OnCallTier } from './on-call.js';

export type RequestState =
  /** Approval card posted, waiting for an approver. */
  | 'AwaitingApproval'
  /** Approved; waiting for Defender rate budget, a free session or the device. */
  | 'Approved'
  /** `runliveresponse` sent (or about to be); the answer is not recorded yet. */
  | 'Submitting'
  /** Defender accepted it; the action is Pending (device may be offline). */
  | 'Pending'
  /** The action is running on the device. */
  | 'InProgress'
  | 'Succeeded'
  | 'Failed'
  | 'TimeOut'
  | 'Cancelled'
  | 'Rejected'
  | 'Expired';

export const FINAL_STATES: readonly RequestState[] = [
  'Succeeded',
  'Failed',
  'TimeOut',
  'Cancelled',
  'Rejected',
  'Expired',
];

export function isFinal(state: RequestState): boolean {
  return FINAL_STATES.includes(state);
}

/** A Teams user as the bot knows them. */
export interface Person {
  /** Teams user id (`29:…`). */
  teamsId: string;
  /** Entra object id, when Teams gave it. */
  aadObjectId?: string;
  name: string;
  upn?: string;
}

export interface DeviceFacts {
  machineId: string;
  computerDnsName: string;
  osPlatform?: string;
  osVersion?: string;
  healthStatus?: string;
  riskScore?: string;
  exposureLevel?: string;
  lastSeen?: string;
  /**
   * Other Defender records with this device's name that the pre-flight set aside: a re-imaged machine keeps its
   * older records (Inactive, or Active until they age out). Shown on the card so the approver knows.
   */
  olderRecords?: OlderDeviceRecord[];
}

export interface OlderDeviceRecord {
  machineId: string;
  healthStatus?: string;
  lastSeen?: string;
}

/** Command progress as the bot shows it; `NotRun` = a previous command failed or the action ended first. */
export type CommandProgressStatus = 'Created' | 'InProgress' | 'Completed' | 'Failed' | 'NotRun';

export interface TranscriptSummary {
  exitCode: number | null;
  /** Cleaned output (banner and NULs removed), possibly truncated. */
  output: string;
  /** Size of the whole cleaned output, in bytes (UTF-8). */
  outputBytes: number;
  outputTruncated: boolean;
  errors: string;
  errorsBytes: number;
  errorsTruncated: boolean;
}

export interface ResultLink {
  /** Opaque id of the stored Defender link; the card shows only the bot's own `/download/...` URL. */
  id: string;
  /** When Defender's link stops working (ISO). */
  expiresAt: string;
}

/** A result file as the bot served or read it, for the card's chain of custody. */
export interface ResultFile {
  /** The name downloads carry (Content-Disposition). */
  name: string;
  sizeBytes: number;
  /** Hex SHA-256 of exactly the bytes a download delivers. */
  sha256: string;
}

export interface CommandProgress {
  status: CommandProgressStatus;
  errors: string[];
  startedAt?: string;
  endedAt?: string;
  link?: ResultLink;
  transcript?: TranscriptSummary;
  /** Name, size and SHA-256 of the result file, once the bot has read it whole. */
  file?: ResultFile;
  /** Why the result could not be fetched (shown on the card, retried by "Get fresh link"). */
  resultError?: string;
}

export interface Decision {
  kind: 'approved' | 'rejected';
  by: Person;
  at: string;
  reason?: string;
  /** Approved through a pre-approval of follow-ups of this request (FOLLOWUP_PREAPPROVAL), not by a click on its card. */
  preApprovedFor?: string;
}

/** A file a finished request's output named, asked for as a follow-up request from its card. */
export interface FollowUp {
  /** The path as the card offered it. */
  path: string;
  /** The follow-up request (a GetFile on the same device). */
  requestId: string;
  by: Person;
  at: string;
}

/** FOLLOWUP_PREAPPROVAL: the parent's approver approves its follow-ups in advance, until `until`. */
export interface FollowUpPreApproval {
  by: Person;
  at: string;
  until: string;
}

export interface Cancellation {
  by: Person;
  at: string;
  /** Set when Defender confirmed (or nothing had been sent yet). */
  confirmedAt?: string;
}

export interface Failure {
  /** Defender error code or one of ours (`DeviceBusy`, `SubmitFailed`, …). */
  code: string;
  message: string;
}

/**
 * Opaque Bot Framework conversation reference, stored so workers can update the card.
 * Core never looks inside it.
 */
export type StoredConversationReference = Record<string, unknown>;

export interface LiveResponseRequest {
  /** `LR-` + 6 characters; shown to users, put in the Defender Comment for correlation. */
  id: string;
  /** Increments on every change; used for compare-and-set in Redis. */
  version: number;
  tenantId: string;
  /** Conversation (thread) id the card lives in. */
  conversationId: string;
  conversationRef: StoredConversationReference;
  requester: Person;
  device: DeviceFacts;
  commands: LiveResponseCommand[];
  reason?: string;
  state: RequestState;
  createdAt: string;
  /** Approval deadline. */
  expiresAt: string;
  /** Approvers resolved in this conversation (mentioned on the card; their teamsIds get the buttons). */
  approvers: Person[];
  /**
   * Who was on call, per tier reached, when the request was asked (tier 1) and escalated (tier 2): the audit trail's
   * snapshot and what the card names. Absent when APPROVERS lists people only.
   */
  onCall?: OnCallTier[];
  /** When the request was escalated to the next tier (ESCALATE_AFTER without a decision). */
  escalatedAt?: string;
  decision?: Decision;
  cancellation?: Cancellation;
  /**
   * Submission bookkeeping for exactly-once. `lastError`: Defender's (or the network's) answer to the latest attempt
   * that failed, for the card that ends a request never submitted by its deadline (SUBMIT_DEADLINE).
   */
  submission?: { attempts: number; lastAttemptAt?: string; submittedAt?: string; lastError?: string };
  actionId?: string;
  /** Defender's action status as last seen. */
  actionStatus?: string;
  progress: CommandProgress[];
  failure?: Failure;
  /** The card activity, once posted. */
  card?: { activityId: string };
  finishedAt?: string;
  /** A short note shown on the card (e.g. "Fetching fresh links…"). */
  notice?: string;
  /** The request whose card offered this one as a follow-up (`Collect <file>`). */
  followUpOf?: string;
  /** Follow-ups asked from this request's card, one per offered file. */
  followUps?: FollowUp[];
  /** Follow-ups of this request are approved at once until then (FOLLOWUP_PREAPPROVAL). */
  followUpPreApproval?: FollowUpPreApproval;
  /** A request for several devices (core/fan-out.ts): it owns the approval and the card, and is never submitted. */
  fanOut?: FanOut;
  /** One device's request of a fan-out: created approved, it has no card of its own (its parent's card shows it). */
  parentId?: string;
}
