// The request lifecycle as a pure state machine: every change to a request is one event applied here.

import type { OnCallTier } from './on-call.js';
import type { ReportedAction, ReportedActionStatus } from './reported-action.js';
import {
  type CommandProgress,
  type CommandProgressStatus,
  type Failure,
  type FollowUp,
  isFinal,
  type LiveResponseRequest,
  type Person,
  type RequestState,
  type ResultFile,
  type ResultLink,
  type TranscriptSummary,
} from './request.js';
import {
  commandsNeedingResults,
  effectsOf,
  needsDefenderCancel,
  type RequestEffect,
} from './request-effects.js';

export type RequestEvent =
  /** `preApprovedFor`: the parent whose pre-approval of follow-ups approves this one (FOLLOWUP_PREAPPROVAL). */
  | { type: 'approve'; by: Person; at: string; preApprovedFor?: string }
  | { type: 'reject'; by: Person; at: string; reason?: string }
  | { type: 'expire'; at: string }
  | { type: 'cancel'; by: Person; at: string }
  | { type: 'cardPosted'; activityId: string }
  | { type: 'submitStarted'; at: string }
  /** Defender answered the attempt without creating anything (429): there is no action to look for. */
  | { type: 'submitNotCreated' }
  /** An attempt failed in a way that is retried (5xx, timeout, 429): what it answered, kept for the deadline card. */
  | { type: 'submitAttemptFailed'; error: string }
  | { type: 'submitted'; action: ReportedAction; at: string }
  | { type: 'submitFailed'; failure: Failure; at: string }
  | { type: 'actionObserved'; action: ReportedAction; at: string }
  | { type: 'cancelConfirmed'; at: string }
  | {
      type: 'resultFetched';
      index: number;
      link?: ResultLink;
      transcript?: TranscriptSummary;
      file?: ResultFile;
      resultError?: string;
    }
  /** "Get fresh link": new links for commands with results, recorded together with the notice cleared. */
  | { type: 'linksRenewed'; links: Array<{ index: number; link: ResultLink }> }
  | { type: 'notice'; text: string | undefined }
  /**
   * A file the finished request's output named was asked for as a follow-up (once per path). `replacing`: the earlier
   * follow-up of the path that never ran (it expired, was rejected or cancelled) and gives way.
   */
  | { type: 'followUpAsked'; followUp: FollowUp; replacing?: string }
  /** The parent's approver approves its follow-ups in advance, until `until` (FOLLOWUP_PREAPPROVAL). */
  | { type: 'followUpsPreApproved'; by: Person; at: string; until: string }
  /** No decision by ESCALATE_AFTER: the next tier's on-call people join the approvers (and are mentioned). */
  | { type: 'escalate'; at: string; tier: OnCallTier; approvers: Person[] }
  /** A fan-out parent whose every device's request has ended: `state` from core/fan-out.ts's fanOutOutcome. */
  | { type: 'fanOutFinished'; state: RequestState; at: string };

export type TransitionError =
  | 'AlreadyDecided'
  | 'AlreadyFinished'
  | 'Expired'
  | 'NotAwaitingApproval'
  | 'NotSubmittable'
  | 'NotFinished'
  | 'UnknownCommand';

/** `effects`: what must follow the change (jobs, card update), for one dispatcher to carry out after the write. */
export type TransitionResult =
  | { ok: true; request: LiveResponseRequest; changed: boolean; effects: RequestEffect[] }
  | { ok: false; error: TransitionError; message: string };

/** The next request alone, before its effects are decided. */
type NextState =
  | { ok: true; request: LiveResponseRequest; changed: boolean }
  | { ok: false; error: TransitionError; message: string };

const ACTION_TO_STATE: Record<ReportedActionStatus, RequestState> = {
  Pending: 'Pending',
  InProgress: 'InProgress',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  TimeOut: 'TimeOut',
  Cancelled: 'Cancelled',
};

const COMMAND_STATUSES: readonly CommandProgressStatus[] = ['Created', 'InProgress', 'Completed', 'Failed'];

function refuse(error: TransitionError, message: string): NextState {
  return { ok: false, error, message };
}

function done(before: LiveResponseRequest, after: LiveResponseRequest): NextState {
  const changed = JSON.stringify(before) !== JSON.stringify(after);
  return { ok: true, request: changed ? { ...after, version: before.version + 1 } : before, changed };
}

function stateLabel(state: RequestState): string {
  return state === 'AwaitingApproval' ? 'awaiting approval' : state.toLowerCase();
}

/**
 * Applies one event; never throws; returns the next request (version bumped when anything changed) and the effects
 * that must follow it, or why not.
 */
export function applyEvent(request: LiveResponseRequest, event: RequestEvent): TransitionResult {
  const next = nextState(request, event);
  if (!next.ok) return next;
  const actionStatus =
    event.type === 'submitted' || event.type === 'actionObserved' ? event.action.status : undefined;
  return {
    ...next,
    effects: effectsOf(request, next.request, next.changed, {
      type: event.type,
      ...(actionStatus ? { actionStatus } : {}),
    }),
  };
}

function nextState(request: LiveResponseRequest, event: RequestEvent): NextState {
  switch (event.type) {
    case 'approve':
    case 'reject': {
      if (request.state !== 'AwaitingApproval') {
        if (request.decision)
          return refuse(
            'AlreadyDecided',
            `${request.id} was already ${request.decision.kind} by ${request.decision.by.name}.`,
          );
        return refuse(
          'NotAwaitingApproval',
          `${request.id} is ${stateLabel(request.state)}; nothing to decide.`,
        );
      }
      if (Date.parse(event.at) >= Date.parse(request.expiresAt)) {
        return done(request, {
          ...request,
          state: 'Expired',
          finishedAt: event.at,
          progress: notRun(request.progress),
        });
      }
      const approved = event.type === 'approve';
      return done(request, {
        ...request,
        state: approved ? 'Approved' : 'Rejected',
        decision: {
          kind: approved ? 'approved' : 'rejected',
          by: event.by,
          at: event.at,
          ...(event.type === 'reject' && event.reason ? { reason: event.reason } : {}),
          ...(event.type === 'approve' && event.preApprovedFor
            ? { preApprovedFor: event.preApprovedFor }
            : {}),
        },
        ...(approved ? {} : { finishedAt: event.at, progress: notRun(request.progress) }),
      });
    }
    case 'expire': {
      if (request.state !== 'AwaitingApproval') return { ok: true, request, changed: false };
      if (Date.parse(event.at) < Date.parse(request.expiresAt))
        return refuse('NotAwaitingApproval', `${request.id} does not expire until ${request.expiresAt}.`);
      return done(request, {
        ...request,
        state: 'Expired',
        finishedAt: event.at,
        progress: notRun(request.progress),
      });
    }
    case 'cancel': {
      if (isFinal(request.state))
        return refuse('AlreadyFinished', `${request.id} already finished (${stateLabel(request.state)}).`);
      if (request.cancellation) return { ok: true, request, changed: false };
      // An approved fan-out ends when its devices' requests have: each is asked to cancel (see request-effects).
      if (request.fanOut && request.state !== 'AwaitingApproval')
        return done(request, { ...request, cancellation: { by: event.by, at: event.at } });
      // Nothing has reached Defender yet: cancelling is immediate and final.
      if (request.state === 'AwaitingApproval' || request.state === 'Approved') {
        return done(request, {
          ...request,
          state: 'Cancelled',
          cancellation: { by: event.by, at: event.at, confirmedAt: event.at },
          finishedAt: event.at,
          progress: notRun(request.progress),
        });
      }
      // Submitting / Pending / InProgress: a job asks Defender to cancel; the action's own status ends it.
      return done(request, { ...request, cancellation: { by: event.by, at: event.at } });
    }
    case 'cardPosted':
      return done(request, { ...request, card: { activityId: event.activityId } });
    case 'submitStarted': {
      if (request.state !== 'Approved' && request.state !== 'Submitting')
        return refuse(
          'NotSubmittable',
          `${request.id} is ${stateLabel(request.state)}, not waiting to be submitted.`,
        );
      const attempts = (request.submission?.attempts ?? 0) + 1;
      // A "Queued: …" notice no longer holds once the request is on its way to Defender.
      const { notice: _queued, ...rest } = request;
      return done(request, {
        ...rest,
        state: 'Submitting',
        submission: { ...request.submission, attempts, lastAttemptAt: event.at },
      });
    }
    case 'submitNotCreated': {
      if (request.state !== 'Submitting' || !request.submission?.lastAttemptAt)
        return { ok: true, request, changed: false };
      const { lastAttemptAt: _answered, ...submission } = request.submission;
      return done(request, { ...request, submission });
    }
    case 'submitAttemptFailed': {
      if (request.state !== 'Approved' && request.state !== 'Submitting')
        return { ok: true, request, changed: false };
      return done(request, {
        ...request,
        submission: { attempts: 0, ...request.submission, lastError: event.error },
      });
    }
    case 'submitted':
    case 'actionObserved': {
      if (isFinal(request.state)) return { ok: true, request, changed: false };
      if (event.type === 'submitted' && request.actionId && request.actionId !== event.action.id)
        return refuse('NotSubmittable', `${request.id} already has Defender action ${request.actionId}.`);
      return done(request, observeAction(request, event.action, event.at, event.type === 'submitted'));
    }
    case 'submitFailed': {
      if (isFinal(request.state)) return { ok: true, request, changed: false };
      return done(request, {
        ...request,
        state: 'Failed',
        failure: event.failure,
        finishedAt: event.at,
        progress: notRun(request.progress),
      });
    }
    case 'cancelConfirmed': {
      if (!request.cancellation || request.cancellation.confirmedAt)
        return { ok: true, request, changed: false };
      return done(request, { ...request, cancellation: { ...request.cancellation, confirmedAt: event.at } });
    }
    case 'resultFetched': {
      const current = request.progress[event.index];
      if (!current) return refuse('UnknownCommand', `${request.id} has no command ${event.index + 1}.`);
      const next: CommandProgress = { ...current };
      if (event.link) next.link = event.link;
      if (event.transcript) next.transcript = event.transcript;
      if (event.file) next.file = event.file;
      if (event.resultError) next.resultError = event.resultError;
      else if (event.link) delete next.resultError;
      const progress = request.progress.map((p, i) => (i === event.index ? next : p));
      return done(request, { ...request, progress });
    }
    case 'escalate': {
      // Once only, and only while a decision is still possible: a late job after a decision changes nothing.
      if (request.state !== 'AwaitingApproval' || request.escalatedAt)
        return { ok: true, request, changed: false };
      const known = new Set(request.approvers.map((p) => p.teamsId));
      return done(request, {
        ...request,
        escalatedAt: event.at,
        onCall: [...(request.onCall ?? []), event.tier],
        approvers: [...request.approvers, ...event.approvers.filter((p) => !known.has(p.teamsId))],
      });
    }
    case 'fanOutFinished': {
      if (
        !request.fanOut ||
        isFinal(request.state) ||
        request.state === 'AwaitingApproval' ||
        !isFinal(event.state)
      )
        return { ok: true, request, changed: false };
      return done(request, {
        ...request,
        state: event.state,
        finishedAt: event.at,
        progress: notRun(request.progress),
        ...(request.cancellation
          ? {
              cancellation: {
                ...request.cancellation,
                confirmedAt: request.cancellation.confirmedAt ?? event.at,
              },
            }
          : {}),
      });
    }
    case 'linksRenewed': {
      const progress = request.progress.map((p, index) => {
        const renewed = event.links.find((l) => l.index === index);
        return renewed ? { ...p, link: renewed.link } : p;
      });
      const { notice: _fetching, ...rest } = request;
      return done(request, { ...rest, progress });
    }
    case 'followUpAsked': {
      // Only a finished request's output names files to collect; each file is asked for once at a time.
      if (!isFinal(request.state))
        return refuse('NotFinished', `${request.id} has not finished; its follow-ups come with its results.`);
      const followUps = request.followUps ?? [];
      const earlier = followUps.find((f) => f.path === event.followUp.path);
      if (earlier && earlier.requestId !== event.replacing) return { ok: true, request, changed: false };
      return done(request, {
        ...request,
        followUps: earlier
          ? followUps.map((f) => (f === earlier ? event.followUp : f))
          : [...followUps, event.followUp],
      });
    }
    case 'followUpsPreApproved': {
      if (!isFinal(request.state) || request.decision?.kind !== 'approved')
        return refuse(
          'NotFinished',
          `${request.id} has not finished after an approval; nothing to pre-approve.`,
        );
      return done(request, {
        ...request,
        followUpPreApproval: { by: event.by, at: event.at, until: event.until },
      });
    }
    case 'notice': {
      const next = { ...request };
      if (event.text) next.notice = event.text;
      else delete next.notice;
      return done(request, next);
    }
  }
}

function notRun(progress: CommandProgress[]): CommandProgress[] {
  return progress.map((p) =>
    p.status === 'Completed' || p.status === 'Failed' ? p : { ...p, status: 'NotRun' },
  );
}

function isActionStatus(status: string): status is ReportedActionStatus {
  return status in ACTION_TO_STATE;
}

/** Folds a Defender machine action into the request: overall state and per-command progress. */
function observeAction(
  request: LiveResponseRequest,
  action: ReportedAction,
  at: string,
  submitted: boolean,
): LiveResponseRequest {
  // Unknown statuses are "not finished": keep the request where it is (but past Submitting once we have an id).
  const state: RequestState = isActionStatus(action.status)
    ? ACTION_TO_STATE[action.status]
    : request.state === 'Submitting'
      ? 'Pending'
      : request.state;
  const final = isFinal(state);
  const progress = request.progress.map((current, index): CommandProgress => {
    const command = action.commands.find((c) => c.index === index) ?? action.commands[index];
    if (!command) return current;
    const known = (COMMAND_STATUSES as readonly string[]).includes(command.commandStatus);
    let status: CommandProgressStatus = known
      ? (command.commandStatus as CommandProgressStatus)
      : state === 'InProgress'
        ? 'InProgress'
        : current.status;
    // A command that never got to run before the action ended will not run.
    if (final && (status === 'Created' || status === 'InProgress')) status = 'NotRun';
    const next: CommandProgress = { ...current, status, errors: command.errors ?? [] };
    if (command.startTime) next.startedAt = command.startTime;
    if (command.endTime) next.endedAt = command.endTime;
    return next;
  });
  const next: LiveResponseRequest = {
    ...request,
    state,
    actionId: action.id,
    actionStatus: action.status,
    progress,
  };
  if (submitted) next.submission = { attempts: 1, ...request.submission, submittedAt: at };
  if (final) {
    next.finishedAt = request.finishedAt ?? at;
    if (state === 'Cancelled') {
      next.cancellation = request.cancellation
        ? { ...request.cancellation, confirmedAt: request.cancellation.confirmedAt ?? at }
        : {
            by: { teamsId: '', name: action.cancellationRequestor ?? 'Defender portal' },
            at: action.cancellationDateTimeUtc ?? at,
            confirmedAt: at,
          };
    }
    if (state === 'Failed' && !request.failure) {
      const failedCommand = action.commands.find((c) => c.commandStatus === 'Failed');
      const message =
        failedCommand?.errors?.join('; ') ||
        action.troubleshootInfo ||
        'Defender reported the action failed.';
      next.failure = { code: 'ActionFailed', message };
    }
    if (state !== 'Cancelled' && request.cancellation && !request.cancellation.confirmedAt) {
      // The action ended another way before Defender acted on the cancel: it was not cancelled.
      delete next.cancellation;
      next.notice = `Too late to cancel (asked by ${request.cancellation.by.name}): the action had already ended.`;
    }
    if (state === 'TimeOut' && !request.failure) {
      next.failure = {
        code: 'TimeOut',
        message: 'Defender stopped the action: a command ran past its time limit.',
      };
    }
  }
  return next;
}

/** Commands whose results can be downloaded (for "Get fresh link"). */
export function commandsWithResults(request: LiveResponseRequest): number[] {
  return request.commands
    .map((command, index) => ({ command, index, progress: request.progress[index] }))
    .filter(({ command, progress }) => command.type !== 'PutFile' && progress?.status === 'Completed')
    .map(({ index }) => index);
}

// Kept here too: callers read them as questions about the lifecycle.
export { commandsNeedingResults, needsDefenderCancel };
