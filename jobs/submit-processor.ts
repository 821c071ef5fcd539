// Submits an approved request to Defender exactly once: slot and budget first, attempt recorded before the call,
// and after any doubt (lost answer, timeout, restart) the Comment correlation tag finds the action instead of a re-send.
import type { Job } from 'bullmq';
import type { LiveResponseCommand } from '../core/commands.js';
import type { Failure, LiveResponseRequest } from '../core/request.js';
import { deadlineWords, notSubmittedFailure } from '../core/request-deadlines.js';
import { buildDefenderComment } from '../defender/action-correlation.js';
import { findCorrelatedAction, TOKEN_FAILED } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import type { MachineAction, RunLiveResponseBody, WireCommand } from '../defender/types.js';
import { applyAndDispatch } from './dispatch-effects.js';
import { type JobDeps, postpone } from './job-deps.js';
import type { JobPayloads } from './job-names.js';
import { createQueuePlaces } from './queue-place.js';

/** Defender can take a moment to list a just-created action; wait this long before concluding it was not created. */
export const CREATION_GRACE_MS = 15_000;

export function toWireCommand(command: LiveResponseCommand): WireCommand {
  switch (command.type) {
    case 'RunScript':
      return {
        type: 'RunScript',
        params: [
          { key: 'ScriptName', value: command.scriptName },
          ...(command.args ? [{ key: 'Args' as const, value: command.args }] : []),
        ],
      };
    case 'GetFile':
      return { type: 'GetFile', params: [{ key: 'Path', value: command.path }] };
    case 'PutFile':
      return { type: 'PutFile', params: [{ key: 'FileName', value: command.fileName }] };
  }
}

export function runLiveResponseBody(request: LiveResponseRequest, channelLabel: string): RunLiveResponseBody {
  return {
    Commands: request.commands.map(toWireCommand),
    Comment: buildDefenderComment(request, channelLabel),
  };
}

/** The device runs someone else's live response session (Defender allows one per device). */
function busyFailure(request: LiveResponseRequest): Failure {
  return {
    code: 'ActiveRequestAlreadyExists',
    message: `${request.device.computerDnsName} already has a live response session running (from the portal or another tool). Ask again when it has finished.`,
  };
}

/** Words for a Defender refusal that will not get better by retrying. */
function failureOf(error: DefenderApiError, request: LiveResponseRequest): Failure {
  const device = request.device.computerDnsName;
  switch (error.kind) {
    case 'busy':
      return busyFailure(request);
    case 'disallowed':
      return {
        code: 'DisallowedOperation',
        message: `Defender does not allow live response on ${device}: its device group has no automation level or live response is turned off. An admin must change the device group settings.`,
      };
    case 'notFound':
      return {
        code: 'MachineNotFound',
        message: `Defender no longer knows ${device} (${request.device.machineId}).`,
      };
    case 'unauthorized':
      return {
        code: error.code || 'Unauthorized',
        message:
          'Defender refused the bot’s credentials: check the app’s Machine.LiveResponse permission and admin consent.',
      };
    default:
      return {
        code: error.code || 'InvalidRequest',
        message: `Defender refused the request: ${error.message}`,
      };
  }
}

/** A retried attempt's failure in a few words for the card (the message is already redacted by the client). */
function attemptError(error: DefenderApiError): string {
  const answer =
    error.kind === 'timeout' || error.kind === 'network'
      ? `no answer (${error.code || error.kind})`
      : `Defender answered ${error.status}${error.code ? ` ${error.code}` : ''}`;
  const detail = error.message.length > 200 ? `${error.message.slice(0, 200)}…` : error.message;
  return detail ? `${answer} — ${detail}` : answer;
}

/** The action an earlier attempt may have created for the request, found by its Comment correlation tag. */
export async function findEarlierAction(
  defender: Pick<JobDeps['defender'], 'listMachineActions'>,
  request: LiveResponseRequest,
): Promise<MachineAction | null> {
  const since = new Date(Date.parse(request.decision?.at ?? request.createdAt) - 60_000).toISOString();
  const actions = await defender.listMachineActions({
    machineId: request.device.machineId,
    type: 'LiveResponse',
    createdSince: since,
  });
  return findCorrelatedAction(actions, request.id) ?? null;
}

export function createSubmitProcessor(deps: JobDeps) {
  const { requests, defender, budget, sessions, clock, logger } = deps;

  /**
   * Its effects: the card, the queue positions behind it, a pending cancel, and — for a recovered action that already
   * finished, which nothing polls — its results and the session slot.
   */
  async function recordSubmitted(request: LiveResponseRequest, action: MachineAction): Promise<void> {
    await applyAndDispatch(
      deps,
      request.id,
      { type: 'submitted', action, at: clock.nowIso() },
      { action: 'submitted', detail: `Defender action ${action.id}` },
    );
  }

  /** Its effects free the session slot and show the failure on the card. */
  async function fail(
    request: LiveResponseRequest,
    failure: Failure,
    detail = `${failure.code}: ${failure.message}`,
  ): Promise<void> {
    await applyAndDispatch(
      deps,
      request.id,
      { type: 'submitFailed', failure, at: clock.nowIso() },
      { action: 'failed', detail },
    );
  }

  const findPrevious = (request: LiveResponseRequest) => findEarlierAction(defender, request);

  const placeInLine = createQueuePlaces({ requests, budget, sessions });

  /**
   * How long until this request may take a run-budget slot. The line is served in order of approval: a request waits
   * for the slot of its place in line — the start its card shows (jobs/queue-place.ts) — rather than for the next free
   * one, which every waiting request would race for, so the 3rd in line starts 3rd. It waits for its turn once: if
   * those ahead did not take their slots meanwhile (waiting for their device or a session), it then takes the next free
   * slot like any other, so nobody waits behind a request that cannot start.
   */
  async function turnWait(job: Job<JobPayloads['submit']>, requestId: string): Promise<number> {
    const next = await budget.peekWait('run');
    if (job.data.waitedForTurn) return next;
    const inLine = await placeInLine(requestId);
    if (!inLine || inLine.place <= 1) return next;
    const mine = Date.parse(inLine.startsAt) - clock.now();
    if (mine <= next) return next;
    await job.updateData({ ...job.data, waitedForTurn: true });
    return mine;
  }

  return async function submit(job: Job<JobPayloads['submit']>, token?: string): Promise<string> {
    const request = await requests.get(job.data.requestId);
    if (!request) return 'unknown request';
    if (request.actionId) return `already submitted as ${request.actionId}`;
    // A fan-out parent names no one machine: its devices' requests are submitted instead.
    if (request.fanOut) return 'fan-out parent: its devices are submitted on their own';
    if (request.state !== 'Approved' && request.state !== 'Submitting')
      return `nothing to do (${request.state})`;
    const log = logger.child({ requestId: request.id, jobId: job.id });

    // The reconciler re-created this job because the one before it was lost, and with it perhaps the record of an
    // attempt (a failover can drop the last writes): look for the action before any send, whatever the record says.
    if (job.data.reconciled && !(request.state === 'Submitting' && request.submission?.lastAttemptAt)) {
      const previous = await findPrevious(request);
      if (previous) {
        log.info(
          { actionId: previous.id },
          'found the action of an attempt the record had lost; not sending again',
        );
        await recordSubmitted(request, previous);
        return `recovered ${previous.id}`;
      }
    }

    // A previous attempt got as far as calling Defender: find its action rather than sending again. Look at once
    // (it is usually listed already), but send again only after Defender has had the grace time to list it.
    if (request.state === 'Submitting' && request.submission?.lastAttemptAt) {
      const previous = await findPrevious(request);
      if (previous) {
        log.info({ actionId: previous.id }, 'found the action of an earlier attempt; not sending again');
        await recordSubmitted(request, previous);
        return `recovered ${previous.id}`;
      }
      const sinceAttempt = clock.now() - Date.parse(request.submission.lastAttemptAt);
      if (sinceAttempt < CREATION_GRACE_MS) {
        await postpone(job, token, CREATION_GRACE_MS - sinceAttempt, clock.now());
      }
    }

    // Past SUBMIT_DEADLINE: this job is the only sender, and it is not sending, so once Defender lists no action of
    // the request (its earlier attempts had the grace time above to be listed) nothing of it can run later.
    const deadlineMs = deps.settings.submitDeadlineMs;
    const approvedAt = Date.parse(request.decision?.at ?? request.createdAt);
    if (deadlineMs !== undefined && clock.now() - approvedAt >= deadlineMs) {
      const previous = await findPrevious(request);
      if (previous) {
        log.info(
          { actionId: previous.id },
          'past the submit deadline, Defender had the action: following it',
        );
        await recordSubmitted(request, previous);
        return `recovered ${previous.id}`;
      }
      const failure = notSubmittedFailure(request, deadlineMs);
      log.warn(
        { attempts: request.submission?.attempts ?? 0, lastError: request.submission?.lastError },
        'not submitted by the deadline; ending the request',
      );
      await fail(
        request,
        failure,
        `${failure.code}: not accepted by Defender within ${deadlineWords(deadlineMs)} of the approval, after ${request.submission?.attempts ?? 0} attempts; nothing was created in Defender. ${failure.message}`,
      );
      return 'not submitted by its deadline';
    }

    // Wait for the run budget before taking a session: a request that only waits for its turn must not hold one of
    // the tenant's sessions (the others would then read "all sessions are in use" while Defender has some free).
    const runWait = await turnWait(job, request.id);
    if (runWait > 0) await postpone(job, token, runWait, clock.now());

    const slot = await sessions.claim(request.id, request.device.machineId);
    if (!slot.ok) {
      const notice =
        slot.reason === 'sessionsFull'
          ? `Queued: all ${slot.inUse} live response sessions are in use.`
          : `Queued: waiting for ${slot.heldBy} on the same device to finish.`;
      await applyAndDispatch(deps, request.id, { type: 'notice', text: notice });
      await postpone(job, token, deps.settings.pollIntervalMs, clock.now());
    }

    const grant = await budget.tryAcquire('run');
    if (!grant.ok) {
      // Another submission took the slot meanwhile: give the session back while waiting.
      await sessions.release(request.id);
      await postpone(job, token, grant.waitMs, clock.now());
    }

    // Record the attempt before the call: if the process dies mid-call, the next attempt looks before sending.
    const started = await requests.transition(request.id, { type: 'submitStarted', at: clock.nowIso() });
    if (!started.ok) {
      await sessions.release(request.id);
      return `not submitted: ${started.message}`;
    }
    const current = started.request;
    try {
      const action = await defender.runLiveResponse(
        current.device.machineId,
        runLiveResponseBody(current, deps.settings.channelLabel(current.conversationId)),
      );
      if (!findCorrelatedAction([action], current.id)) {
        // Defender merged the request into a session already on the device that is not this request's (its
        // Comment lacks our tag): following it would show someone else's commands as this request's results.
        log.warn({ actionId: action.id }, 'Defender merged the request into another session on the device');
        await fail(current, busyFailure(current));
        return `merged into another session ${action.id}`;
      }
      log.info({ actionId: action.id }, 'submitted live response');
      await recordSubmitted(current, action);
      return `submitted ${action.id}`;
    } catch (error) {
      if (!(error instanceof DefenderApiError)) throw error;
      log.warn(
        { err: error.message, code: error.code, status: error.status, target: error.target },
        'submit failed',
      );
      // Kept on the request: if no attempt succeeds by SUBMIT_DEADLINE, the card says what Defender last answered.
      if (error.retryable)
        await requests.transition(request.id, { type: 'submitAttemptFailed', error: attemptError(error) });
      // No token, or a 429: nothing was created, so the next attempt need not look for an action or wait for one.
      if (error.code === TOKEN_FAILED || error.kind === 'throttled')
        await requests.transition(request.id, { type: 'submitNotCreated' });
      // The budgeted client has already recorded the 429's Retry-After for every process: wait exactly that long.
      if (error.kind === 'throttled') await postpone(job, token, await budget.peekWait('run'), clock.now());
      if (error.retryable) throw error; // BullMQ retries; the next attempt looks for the action first.
      if (error.kind === 'busy') {
        // Defender may have merged this request into one it already has for the device: is it ours?
        const mine = await findPrevious(current);
        if (mine) {
          await recordSubmitted(current, mine);
          return `merged into ${mine.id}`;
        }
      }
      await fail(current, failureOf(error, current));
      return `refused: ${error.code}`;
    }
  };
}
