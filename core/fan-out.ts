// One request for several devices ("fan-out"): a parent request owns the approval and the one card, and at approval
// each device it includes gets an ordinary child request that goes through submission, polling and results on its
// own (exactly once per device, the reconciler and the shared budgets apply to each unchanged). Pure: types, the
// child record, and what the parent's card and final state read off its children.
import type { DeviceFacts, LiveResponseRequest, RequestState } from './request.js';
import { isFinal } from './request.js';
import { commandsNeedingResults } from './request-effects.js';

/** Default of FANOUT_MAX_DEVICES: the most devices one request may name (or one tag may hold). */
export const DEFAULT_FANOUT_MAX_DEVICES = 20;

/** How long a finished device's missing results may keep its fan-out open (the reconciler ends it after that). */
export const RESULTS_GRACE_MS = 10 * 60_000;

/** Child card updates are coalesced into one re-render of the parent's card per window (Teams' thread rate). */
export const FANOUT_CARD_WINDOW_MS = 2_000;

/** One device a fan-out named, with its own pre-flight result. */
export interface FanOutTarget {
  /** The name as typed, or the machine's name for a member of a tag. */
  name: string;
  /** The machine the name resolved to, when it did. */
  device?: DeviceFacts;
  /** Why pre-flight left it out (unknown, ambiguous, busy, Inactive, wrong OS, listed twice); absent = included. */
  excluded?: string;
  /** Included targets only: the child request's id, fixed when the request is made so creating it is idempotent. */
  childId?: string;
}

export interface FanOut {
  /** How the devices were named: a list, or a Defender machine tag. */
  source: { kind: 'devices' } | { kind: 'tag'; tag: string };
  targets: FanOutTarget[];
}

/** How one included device's live response ended up, for the summary line. */
export interface FanOutCounts {
  included: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  /** Not final yet (queued, submitting, pending, running), or its child not created yet. */
  running: number;
}

/** The child ids of a parent, in the order of its targets. */
export function childIdsOf(parent: LiveResponseRequest): string[] {
  return (parent.fanOut?.targets ?? []).flatMap((t) => (t.childId ? [t.childId] : []));
}

/** The included targets with their child id. */
export function includedTargets(parent: LiveResponseRequest): Array<FanOutTarget & { childId: string }> {
  return (parent.fanOut?.targets ?? []).filter(
    (t): t is FanOutTarget & { childId: string } => Boolean(t.childId) && !t.excluded,
  );
}

/**
 * The child request of one included device, created at approval: already approved (by the parent's decision), with
 * the parent's requester, approvers, commands, reason and conversation, and no card of its own.
 */
export function newChildRequest(
  parent: LiveResponseRequest,
  target: FanOutTarget & { childId: string; device: DeviceFacts },
  at: string,
): LiveResponseRequest {
  const cancelled = parent.cancellation;
  const child: LiveResponseRequest = {
    id: target.childId,
    version: 1,
    tenantId: parent.tenantId,
    conversationId: parent.conversationId,
    conversationRef: parent.conversationRef,
    requester: parent.requester,
    device: target.device,
    commands: parent.commands,
    ...(parent.reason ? { reason: parent.reason } : {}),
    // A cancel-all that came before this child was created ends it at once: nothing was sent for it.
    state: cancelled ? 'Cancelled' : 'Approved',
    createdAt: at,
    expiresAt: parent.expiresAt,
    approvers: parent.approvers,
    ...(parent.onCall ? { onCall: parent.onCall } : {}),
    ...(parent.decision ? { decision: parent.decision } : {}),
    progress: parent.commands.map(() => ({ status: cancelled ? 'NotRun' : 'Created', errors: [] })),
    parentId: parent.id,
  };
  if (cancelled) {
    child.cancellation = { by: cancelled.by, at: cancelled.at, confirmedAt: at };
    child.finishedAt = at;
  }
  return child;
}

/** Counts of the included devices by how their child requests stand (a missing child is still to start). */
export function countFanOut(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
): FanOutCounts {
  const counts: FanOutCounts = {
    included: 0,
    succeeded: 0,
    failed: 0,
    timedOut: 0,
    cancelled: 0,
    running: 0,
  };
  for (const target of includedTargets(parent)) {
    counts.included++;
    const state = children.get(target.childId)?.state;
    if (state === 'Succeeded') counts.succeeded++;
    else if (state === 'Failed') counts.failed++;
    else if (state === 'TimeOut') counts.timedOut++;
    else if (state === 'Cancelled' || state === 'Rejected' || state === 'Expired') counts.cancelled++;
    else counts.running++;
  }
  return counts;
}

/** "7 of 9 succeeded, 1 failed, 1 timed out" (zero counts left out; "running" while some have not ended). */
export function summaryLine(counts: FanOutCounts): string {
  const parts = [`${counts.succeeded} of ${counts.included} succeeded`];
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  if (counts.timedOut > 0) parts.push(`${counts.timedOut} timed out`);
  if (counts.cancelled > 0) parts.push(`${counts.cancelled} cancelled`);
  if (counts.running > 0) parts.push(`${counts.running} not finished`);
  return parts.join(', ');
}

/**
 * The parent's final state once every child has ended and its results are in, or null while any has not: Cancelled if
 * every device was cancelled, Succeeded if the others all succeeded, otherwise Failed (the summary says how each ended).
 */
export function fanOutOutcome(
  parent: LiveResponseRequest,
  children: ReadonlyMap<string, LiveResponseRequest>,
  now: number,
): RequestState | null {
  const included = includedTargets(parent);
  const ended = included.map((t) => children.get(t.childId));
  // Ended with its results in: the parent's last card (which the reconciler can bring back) shows them all. A result
  // Defender would not give for RESULTS_GRACE_MS (its job gave up) no longer holds the parent open.
  const waitingForResults = (c: LiveResponseRequest) =>
    commandsNeedingResults(c).length > 0 && now - Date.parse(c.finishedAt ?? c.createdAt) < RESULTS_GRACE_MS;
  if (ended.some((c) => c === undefined || !isFinal(c.state) || waitingForResults(c))) return null;
  const states = ended.map((c) => c?.state);
  if (states.every((s) => s === 'Cancelled')) return 'Cancelled';
  // Some cancelled on purpose and none failed: it did what was still wanted (the summary counts the cancelled).
  if (states.every((s) => s === 'Succeeded' || s === 'Cancelled')) return 'Succeeded';
  return 'Failed';
}

/** Loads a parent's children that exist (id → request). */
export async function loadChildren(
  requests: { get(id: string): Promise<LiveResponseRequest | null> },
  parent: LiveResponseRequest,
): Promise<Map<string, LiveResponseRequest>> {
  const found = await Promise.all(childIdsOf(parent).map((id) => requests.get(id)));
  return new Map(found.filter((r): r is LiveResponseRequest => r !== null).map((r) => [r.id, r]));
}

/** What a fan-out parent puts in its `device` field: it names the set, never one machine (and is never submitted). */
export function fanOutDeviceLabel(fanOut: FanOut): DeviceFacts {
  const included = fanOut.targets.filter((t) => !t.excluded).length;
  const devices = `${included} device${included === 1 ? '' : 's'}`;
  return {
    machineId: '',
    computerDnsName: fanOut.source.kind === 'tag' ? `tag:${fanOut.source.tag} (${devices})` : devices,
  };
}

/** The devices of a fan-out in words, for the audit trail: included ones, and each left out with why. */
export function describeTargets(fanOut: FanOut): string {
  const included = fanOut.targets.filter((t) => !t.excluded).map((t) => t.device?.computerDnsName ?? t.name);
  const leftOut = fanOut.targets.filter((t) => t.excluded).map((t) => `${t.name} (${t.excluded})`);
  const source = fanOut.source.kind === 'tag' ? `tag:${fanOut.source.tag}: ` : '';
  return `${source}${included.join(', ')}${leftOut.length > 0 ? `; left out: ${leftOut.join('; ')}` : ''}`;
}
