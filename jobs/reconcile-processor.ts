// The reconciler: the request record is the truth, and every request whose state needs a job gets it back. A crash
// between a write and its effects, or a Redis failover that lost the last writes, leaves a request Approved with no
// submission, Pending with no poller, finished with a card still "Running": each run finds them from the record
// alone and re-creates the missing job under its deterministic id (so nothing runs twice), and ends requests stuck
// past their approval deadline with a card that says so, and requests stuck past their state's deadline
// (PENDING_DEADLINE, RUNNING_DEADLINE) by cancelling their action in Defender; past SUBMIT_DEADLINE the submit job it
// keeps queued ends the request itself.
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import { isFinal, type LiveResponseRequest, type Person } from '../core/request.js';
import {
  deadlineCanceller,
  deadlineWords,
  type Overdue,
  overdueOf,
  type StateDeadlines,
} from '../core/request-deadlines.js';
import { commandsNeedingResults, needsDefenderCancel } from '../core/request-effects.js';
import { shownCardVersion } from './card-processor.js';
import { applyAndDispatch } from './dispatch-effects.js';
import { reconcileFanOut } from './fan-out-effects.js';
import type { JobDeps } from './job-deps.js';

/** What a repair did, the `kind` label of lr_reconciler_repairs_total (a fixed set: bounded cardinality). */
export type RepairKind =
  | 'submit'
  | 'expire'
  | 'expired'
  | 'poll'
  | 'result'
  | 'cancel'
  | 'card'
  /** A fan-out's device requests not created, not cancelled with it, or the parent not ended after them. */
  | 'fanOut'
  | 'finished'
  /** Past PENDING_DEADLINE / RUNNING_DEADLINE: cancelled in Defender. */
  | 'deadline-pending'
  | 'deadline-running'
  /** A card the bot sent but never recorded (it stopped in between): withdrawn if undecided, a fresh card posted. */
  | 'card-lost';

/** Who withdraws a request whose approval card was lost; its fixed id marks the request for the card repair. */
export const CARD_LOST: Person = {
  teamsId: 'lr-bot:card-lost',
  name: 'LR Bot (its approval card was lost in a restart)',
};

const CARD_LOST_NOTICE =
  'The bot stopped between posting this request’s approval card and recording it, so that card can no longer be updated: the request was withdrawn before anyone could approve it there. Nothing ran on the device. Ask again if it is still needed.';

/** Requests looked at per run at most; the rest wait for the next run (oldest change first). */
const MAX_PER_RUN = 2_000;
const PAGE = 200;
/** A finished request whose card cannot be brought up to date (Teams refused: the card was deleted) is let go after this. */
const GIVE_UP_AFTER_MS = 24 * 3600_000;

export interface ReconcileDeps extends JobDeps {
  redis: Redis;
  keys: RedisKeys;
  reconcile: {
    /**
     * A request changed more recently than this is left alone: the flow that changed it is still carrying out its
     * effects, and a repair now would only race it (harmlessly, but counted as a repair).
     */
    graceMs: number;
    /** Counts each repair (the metric). */
    onRepair?: (kind: RepairKind, requestId: string) => void;
    /** PENDING_DEADLINE and RUNNING_DEADLINE are enforced here; SUBMIT_DEADLINE by the submit job it keeps queued. */
    deadlines: StateDeadlines;
    /** Renders the request's card as it is now and posts it as a new message; returns its activity id. */
    postCard?: (request: LiveResponseRequest) => Promise<string>;
  };
}

export function createReconcileProcessor(deps: ReconcileDeps) {
  const { requests, scheduler, clock, logger } = deps;
  const { repair } = scheduler;

  /**
   * Cancels in Defender an action past its state's deadline; its own status then ends the request. A request
   * Defender never accepted is ended by its submit job instead (the only sender, so it can look for the action and
   * decide not to send again in one place), which the repairs below keep in the queue.
   */
  async function cancelOverdue(request: LiveResponseRequest, overdue: Overdue): Promise<RepairKind | null> {
    const by = deadlineCanceller(overdue);
    const cancelled = await applyAndDispatch(
      deps,
      request.id,
      (current) => (current.version === request.version ? { type: 'cancel', by, at: clock.nowIso() } : null),
      {
        action: 'cancel',
        actor: { name: by.name },
        detail: `${overdue.phase === 'pending' ? 'Pending' : 'InProgress'} since ${overdue.since}, past the ${deadlineWords(overdue.limitMs)} deadline: cancelling Defender action ${request.actionId}`,
      },
    );
    if (!cancelled.ok || !cancelled.changed) return null;
    return overdue.phase === 'pending' ? 'deadline-pending' : 'deadline-running';
  }

  /**
   * Teams has no idempotency key and no way to find a message by a correlation, so a card sent but not recorded can
   * never be updated. Undecided, the request is withdrawn (an approval from a card the bot cannot update would run
   * with no card to show it); then, and for a request decided from that card, a fresh card is posted and recorded,
   * so the thread shows how it ends. A click on the lost card answers with the clicker's view of the current state.
   */
  async function repairLostCard(request: LiveResponseRequest): Promise<RepairKind | null> {
    const post = deps.reconcile.postCard;
    if (!post) return null;
    let current = request;
    if (current.state === 'AwaitingApproval') {
      const withdrawn = await applyAndDispatch(
        deps,
        current.id,
        (latest) =>
          latest.version === request.version ? { type: 'cancel', by: CARD_LOST, at: clock.nowIso() } : null,
        {
          action: 'cancel',
          actor: { name: CARD_LOST.name },
          detail:
            'withdrawn: the bot stopped between posting the approval card and recording it, so the card cannot be updated; nothing ran on the device',
        },
      );
      if (!withdrawn.ok || !withdrawn.changed) return null;
      const noticed = await requests.transition(current.id, { type: 'notice', text: CARD_LOST_NOTICE });
      current = noticed.ok ? noticed.request : withdrawn.request;
    }
    const activityId = await post(current);
    // No card effect follows a card posted late: it already shows the state it was rendered from.
    await applyAndDispatch(deps, current.id, { type: 'cardPosted', activityId });
    logger.warn(
      { requestId: current.id, activityId },
      'posted a fresh card for a request whose card was lost',
    );
    return 'card-lost';
  }

  /** Sent but never recorded: no card, not a fan-out's device (those have none), past the send's grace. */
  function lostItsCard(request: LiveResponseRequest, now: number): boolean {
    if (request.card || request.parentId) return false;
    if (now - Date.parse(request.createdAt) < deps.reconcile.deadlines.cardSendGraceMs) return false;
    // A card Teams refused is no card to repair (handle-message cancels that request); one withdrawn here is.
    return !isFinal(request.state) || request.cancellation?.by.teamsId === CARD_LOST.teamsId;
  }

  async function reconcileOne(
    request: LiveResponseRequest,
    now: number,
    pollingChecked: { done: boolean },
    recent: boolean,
  ): Promise<RepairKind[]> {
    const done: RepairKind[] = [];
    const id = request.id;
    if (lostItsCard(request, now)) {
      const repaired = await repairLostCard(request);
      // Until its fresh card is posted, a withdrawn request is not settled: the next run tries again.
      if (repaired || isFinal(request.state)) return repaired ? [repaired] : [];
    }
    const overdue = overdueOf(request, deps.reconcile.deadlines, now);
    if (overdue && overdue.phase !== 'submit') {
      const cancelled = await cancelOverdue(request, overdue);
      if (cancelled) return [cancelled];
    }
    // Deadlines are checked whatever the request's last change (a submission retried for ever keeps changing it);
    // job repairs wait for the flow that changed it to carry out its own effects.
    if (recent) return done;
    if (request.state === 'AwaitingApproval') {
      if (now >= Date.parse(request.expiresAt)) {
        // Its expiry job was lost (or is late): end it now, with the card saying nobody decided in time.
        const expired = await applyAndDispatch(
          deps,
          id,
          { type: 'expire', at: clock.nowIso() },
          { action: 'expired', detail: 'no decision before the deadline' },
        );
        if (expired.ok && expired.changed) done.push('expired');
      } else if (await repair.ensureExpire(id, Date.parse(request.expiresAt), now)) done.push('expire');
      // An escalation changes the open card (the next tier mentioned): its update, if lost, is put back. Nothing else
      // while awaiting approval changes what the posted card shows, so a card never updated is not one to repair.
      if (request.card && request.escalatedAt && now < Date.parse(request.expiresAt)) {
        const shown = await shownCardVersion(deps.redis, deps.keys, id);
        if (shown < request.version && (await repair.ensureCard(id, request.version))) done.push('card');
      }
      return done;
    }
    // A fan-out parent is never submitted; its devices' requests are, each reconciled on its own.
    if (request.fanOut) done.push(...(await reconcileFanOut(deps, request, applyAndDispatch)));
    else if (!isFinal(request.state) && !request.actionId) {
      // Approved or Submitting: the submission looks for an earlier attempt's action before sending (see submit).
      if (await repair.ensureSubmit(id)) done.push('submit');
    }
    if (!isFinal(request.state) && request.actionId && !pollingChecked.done) {
      pollingChecked.done = true;
      if (!(await repair.hasPolling())) {
        await scheduler.startPolling(deps.settings.pollIntervalMs);
        done.push('poll');
      }
    }
    if (needsDefenderCancel(request) && (await repair.ensureCancel(id, request.version))) done.push('cancel');
    for (const index of commandsNeedingResults(request))
      if (await repair.ensureResult(id, index)) done.push('result');
    const shown = request.card ? await shownCardVersion(deps.redis, deps.keys, id) : request.version;
    if (shown < request.version && (await repair.ensureCard(id, request.version))) done.push('card');
    // Nothing more can follow a finished request whose card shows its end and whose results are in.
    const finished = isFinal(request.state) && commandsNeedingResults(request).length === 0;
    const longAgo = now - Date.parse(request.finishedAt ?? request.createdAt) > GIVE_UP_AFTER_MS;
    if (finished && (shown >= request.version || longAgo)) await requests.settle(id, request.version);
    return done;
  }

  return async function reconcile(_job: Job): Promise<string> {
    const now = clock.now();
    // Requests written before the index existed are found through the older indexes once, then tracked.
    await requests.trackUnsettled([...(await requests.queuedIds()), ...(await requests.inflightIds())]);
    const pollingChecked = { done: false };
    let looked = 0;
    let repaired = 0;
    const seen = new Set<string>();
    while (looked < MAX_PER_RUN) {
      // Settled requests leave the index as we go, so page by what is left rather than by offset.
      const page = (await requests.unsettled(now, PAGE + seen.size)).filter(([id]) => !seen.has(id));
      if (page.length === 0) break;
      for (const [id, changedAt] of page) {
        seen.add(id);
        const recent = changedAt > now - deps.reconcile.graceMs;
        looked++;
        const request = await requests.get(id);
        if (!request) {
          // Expired from Redis with its retention: nothing left to do for it.
          await requests.settle(id, 0);
          continue;
        }
        try {
          const kinds = await reconcileOne(request, now, pollingChecked, recent);
          for (const kind of kinds) deps.reconcile.onRepair?.(kind, id);
          if (kinds.length > 0) {
            repaired++;
            logger.warn(
              { requestId: id, state: request.state, repairs: kinds },
              'reconciler repaired a request',
            );
          }
        } catch (error) {
          // One request's trouble must not stop the others' repair; the next run tries it again.
          logger.warn({ requestId: id, err: error }, 'reconciler could not check a request');
        }
      }
    }
    return `looked at ${looked}, repaired ${repaired}`;
  };
}
