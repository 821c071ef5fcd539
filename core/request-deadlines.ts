// How long a request may stay in each unfinished state before the reconciler ends it (SUBMIT_DEADLINE,
// PENDING_DEADLINE, RUNNING_DEADLINE). Pure: which request is overdue, since when, and the words its card ends with.
import { formatDuration } from './durations.js';
import type { Failure, LiveResponseRequest } from './request.js';

export interface StateDeadlines {
  /** From approval until Defender accepts the action (Approved and Submitting: budget, sessions, retries). */
  submitMs: number;
  /** An accepted action still Pending (the device is offline): Defender queues it for 2 hours to 3 days. */
  pendingMs: number;
  /** An action InProgress on the device (each RunScript is stopped by Defender after 10 minutes). */
  runningMs: number;
  /**
   * A request awaiting approval with no recorded card this long after it was asked lost its card (the bot stopped
   * between Teams taking it and the write): the turn that posts it has long finished (Teams gives a message turn
   * 15 s; the bot waits at most 8 s for the thread's rate before sending).
   */
  cardSendGraceMs: number;
}

export type DeadlinePhase = 'submit' | 'pending' | 'running';

export interface Overdue {
  phase: DeadlinePhase;
  /** When the phase began (ISO). */
  since: string;
  limitMs: number;
}

const earliest = (times: Array<string | undefined>): string | undefined =>
  times.filter((t): t is string => Boolean(t)).sort((a, b) => Date.parse(a) - Date.parse(b))[0];

/**
 * The deadline a request has passed at `now`, or null. A request already being cancelled is left to its cancel;
 * AwaitingApproval has its own deadline (`expiresAt`) and finished requests none.
 */
export function overdueOf(
  request: LiveResponseRequest,
  deadlines: StateDeadlines,
  now: number,
): Overdue | null {
  const check = (phase: DeadlinePhase, since: string | undefined, limitMs: number): Overdue | null =>
    since && now - Date.parse(since) >= limitMs ? { phase, since, limitMs } : null;
  if (request.cancellation) return null;
  switch (request.state) {
    case 'Approved':
    case 'Submitting':
      return request.actionId
        ? null
        : check('submit', request.decision?.at ?? request.createdAt, deadlines.submitMs);
    case 'Pending':
      return check(
        'pending',
        request.submission?.submittedAt ?? request.decision?.at ?? request.createdAt,
        deadlines.pendingMs,
      );
    case 'InProgress':
      return check(
        'running',
        earliest(request.progress.map((p) => p.startedAt)) ??
          request.submission?.submittedAt ??
          request.decision?.at,
        deadlines.runningMs,
      );
    default:
      return null;
  }
}

/** "1 h", "3 d", "90 min": how long a deadline is, as the card says it. */
export function deadlineWords(ms: number): string {
  const day = 86_400_000;
  if (ms >= day && ms % day === 0) return `${ms / day} d`;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return formatDuration(ms);
}

/** The failure a request never accepted by Defender ends with; only ever used once no action of it exists. */
export function notSubmittedFailure(request: LiveResponseRequest, limitMs: number): Failure {
  const last = request.submission?.lastError ?? request.notice ?? 'no attempt got an answer';
  return {
    code: 'NotSubmitted',
    message: `Could not be submitted to Defender within ${deadlineWords(limitMs)}: ${last.replace(/\.$/, '')}. Nothing ran on the device.`,
  };
}

/** Who ends an action past its deadline, as the card names the canceller. */
export function deadlineCanceller(overdue: Overdue): { teamsId: string; name: string } {
  const what = overdue.phase === 'pending' ? 'Pending (device offline)' : 'running';
  return { teamsId: '', name: `LR Bot: ${what} past the ${deadlineWords(overdue.limitMs)} deadline` };
}
