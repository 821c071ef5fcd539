// Enqueues the bot's jobs with deterministic ids, so a repeated enqueue (a retry, a double click) is one job.
import { type ConnectionOptions, type JobState, type JobsOptions, Queue } from 'bullmq';
import { JOB_QUEUE, type JobName, type JobPayloads, QUEUES, type QueueName } from './job-names.js';

export interface JobScheduler {
  submit(requestId: string): Promise<void>;
  fetchResult(requestId: string, index: number): Promise<void>;
  freshLinks(requestId: string, clickedAt: number): Promise<void>;
  /** `tag` distinguishes cancels asked at different times (e.g. the request version). */
  cancel(requestId: string, tag: string | number): Promise<void>;
  expireAt(requestId: string, at: number, now: number): Promise<void>;
  /** ESCALATE_AFTER: asks the next approver tier at `at` if nobody has decided (one job per request). */
  escalateAt(requestId: string, at: number, now: number): Promise<void>;
  /**
   * `tag` is what changed (usually the request version): one card job per change, coalesced by the worker.
   * `background` updates (a queue position moving up) wait behind every state change when Teams' rate is busy.
   */
  updateCard(requestId: string, tag: string | number, delayMs?: number, background?: boolean): Promise<void>;
  /**
   * The card of a request waiting in line shows its new place and start: one pending job per request (moves within
   * QUEUE_PLACE_COALESCE_MS, or while Teams' rate holds it back, are one update), at background priority.
   */
  refreshQueuePlace(requestId: string): Promise<void>;
  startPolling(everyMs: number): Promise<void>;
  startReconciling(everyMs: number): Promise<void>;
  /** What the reconciler uses to put back a request's lost job, under the id the job always has. */
  repair: JobRepairs;
  queues(): Queue[];
  close(): Promise<void>;
}

/**
 * Each `ensure…` adds the job only when no job with its deterministic id is waiting, delayed or running, and says
 * whether it did. BullMQ refuses a duplicate id only while the old job still exists: a kept completed (or failed) job
 * whose work the request still needs (its result lost in a failover) is removed first, so the job can run again.
 */
export interface JobRepairs {
  /** Re-created also after a completed or failed one: the request is still not submitted. Marked `reconciled`. */
  ensureSubmit(requestId: string): Promise<boolean>;
  ensureExpire(requestId: string, at: number, now: number): Promise<boolean>;
  /** Re-created after a completed one (its result was lost); a failed one gave up (Get fresh link tries again). */
  ensureResult(requestId: string, index: number): Promise<boolean>;
  /** The card job of this version; re-created after a completed one, not after a refused (failed) one. */
  ensureCard(requestId: string, version: number): Promise<boolean>;
  ensureCancel(requestId: string, tag: number): Promise<boolean>;
  /** Whether the poll schedule exists (it is re-created on every start and by `startPolling`). */
  hasPolling(): Promise<boolean>;
}

/** Retry policy per job: attempts and the cap of the exponential back-off (see the `capped` strategy in workers). */
export const JOB_OPTIONS: Record<JobName, JobsOptions> = {
  submit: { attempts: 25, backoff: { type: 'capped', delay: 2_000 } },
  poll: { attempts: 1 },
  fetchResult: { attempts: 10, backoff: { type: 'capped', delay: 2_000 } },
  freshLinks: { attempts: 6, backoff: { type: 'capped', delay: 2_000 } },
  cancel: { attempts: 10, backoff: { type: 'capped', delay: 2_000 } },
  expire: { attempts: 10, backoff: { type: 'capped', delay: 2_000 } },
  updateCard: { attempts: 20, backoff: { type: 'capped', delay: 1_000 } },
  escalate: { attempts: 10, backoff: { type: 'capped', delay: 2_000 } },
  reconcile: { attempts: 1 },
};

const POLL_SCHEDULER = 'poll-machine-actions';
const RECONCILE_SCHEDULER = 'reconcile-requests';
/** States in which a job will still run (or is running): nothing to repair. */
const PENDING_STATES: readonly (JobState | 'unknown')[] = [
  'waiting',
  'delayed',
  'active',
  'prioritized',
  'waiting-children',
];

/** BullMQ priority of background card updates (jobs without one go first). */
const BACKGROUND_PRIORITY = 10;

/** Moves of the line within this long update a waiting card once. */
export const QUEUE_PLACE_COALESCE_MS = 1_000;

/**
 * How long BullMQ keeps finished jobs. The request record and its audit trail are the history (REQUEST_RETENTION,
 * AUDIT_RETENTION); a completed job holds nothing the card or the audit needs, and keeping a day of them cost about
 * 27 KB per request. An hour (at most 100 per queue) stays for the queue dashboard; failed jobs a week (at most 1,000)
 * to investigate. A job added again after its completed twin is gone runs, and finds its work done: every processor
 * checks the request first (a submit reads `actionId` and the recorded attempt before any call to Defender).
 */
export const KEEP_FINISHED_JOBS = {
  removeOnComplete: { age: 3600, count: 100 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
} as const;
const KEEP = KEEP_FINISHED_JOBS;

/** Events kept per queue in BullMQ's event stream (BullMQ's default 10,000 is ~2 MB a queue); the bot reads none. */
const EVENTS_KEPT = 1_000;

/** Fresh-link clicks within this window share one job. */
const FRESH_LINK_WINDOW_MS = 5_000;

export function createJobScheduler(deps: {
  connection: ConnectionOptions;
  prefix: string;
  /**
   * A queue's errors (Redis away). BullMQ forwards the poll scheduler's connection errors to its queue, and a queue
   * with no `error` listener prints each one raw to stderr: a stream of unhandled errors during any outage.
   */
  onError?: (error: Error, queue: QueueName) => void;
}): JobScheduler {
  const queues = new Map<QueueName, Queue>(
    Object.values(QUEUES).map((name) => {
      const queue = new Queue(name, {
        connection: deps.connection,
        prefix: deps.prefix,
        streams: { events: { maxLen: EVENTS_KEPT } },
      });
      queue.on('error', (error) => deps.onError?.(error, name));
      return [name, queue];
    }),
  );

  async function add<N extends JobName>(
    name: N,
    data: JobPayloads[N],
    jobId: string,
    extra: JobsOptions = {},
  ) {
    const queue = queues.get(JOB_QUEUE[name]);
    if (!queue) throw new Error(`No queue for job ${name}`);
    await queue.add(name, data, { ...KEEP, ...JOB_OPTIONS[name], ...extra, jobId });
  }

  /** Adds the job unless one with its id is pending; removes a finished one in `replace` first. */
  async function ensure<N extends JobName>(
    name: N,
    data: JobPayloads[N],
    jobId: string,
    replace: readonly ('completed' | 'failed')[],
    extra: JobsOptions = {},
  ): Promise<boolean> {
    const queue = queues.get(JOB_QUEUE[name]);
    if (!queue) throw new Error(`No queue for job ${name}`);
    const state = await queue.getJobState(jobId);
    if (PENDING_STATES.includes(state)) return false;
    if (state === 'completed' || state === 'failed') {
      if (!replace.includes(state)) return false;
      await queue.remove(jobId);
    }
    await add(name, data, jobId, extra);
    return true;
  }

  const repair: JobRepairs = {
    ensureSubmit: (requestId) =>
      ensure('submit', { requestId, reconciled: true }, `submit-${requestId}`, ['completed', 'failed']),
    ensureExpire: (requestId, at, now) =>
      ensure('expire', { requestId }, `expire-${requestId}`, ['completed', 'failed'], {
        delay: Math.max(0, at - now),
      }),
    ensureResult: (requestId, index) =>
      ensure('fetchResult', { requestId, index }, `result-${requestId}-${index}`, ['completed']),
    ensureCard: (requestId, version) =>
      ensure('updateCard', { requestId }, `card-${requestId}-${version}`, ['completed']),
    ensureCancel: (requestId, tag) =>
      ensure('cancel', { requestId }, `cancel-${requestId}-${tag}`, ['completed']),
    async hasPolling() {
      return Boolean(await queues.get(JOB_QUEUE.poll)?.getJobScheduler(POLL_SCHEDULER));
    },
  };

  return {
    submit: (requestId) => add('submit', { requestId }, `submit-${requestId}`),
    fetchResult: (requestId, index) =>
      add('fetchResult', { requestId, index }, `result-${requestId}-${index}`),
    freshLinks: (requestId, clickedAt) =>
      add('freshLinks', { requestId }, `fresh-${requestId}-${Math.floor(clickedAt / FRESH_LINK_WINDOW_MS)}`),
    cancel: (requestId, tag) => add('cancel', { requestId }, `cancel-${requestId}-${tag}`),
    expireAt: (requestId, at, now) =>
      add('expire', { requestId }, `expire-${requestId}`, { delay: Math.max(0, at - now) }),
    escalateAt: (requestId, at, now) =>
      add('escalate', { requestId }, `escalate-${requestId}`, { delay: Math.max(0, at - now) }),
    updateCard: (requestId, tag, delayMs = 0, background = false) =>
      add('updateCard', { requestId }, `card-${requestId}-${tag}`, {
        delay: delayMs,
        // BullMQ runs jobs without a priority before any prioritized one.
        ...(background ? { priority: BACKGROUND_PRIORITY } : {}),
      }),
    // Removed once done, so the next move adds it again; while it waits (or Teams' rate postpones it) adding is a no-op
    // and the one job renders the place as it is when it runs.
    refreshQueuePlace: (requestId) =>
      add('updateCard', { requestId }, `card-${requestId}-queue`, {
        delay: QUEUE_PLACE_COALESCE_MS,
        priority: BACKGROUND_PRIORITY,
        removeOnComplete: true,
        removeOnFail: true,
      }),
    async startPolling(everyMs) {
      const queue = queues.get(JOB_QUEUE.poll);
      // Upserting an existing schedule keeps its timing; one whose next run was lost gets it back.
      await queue?.upsertJobScheduler(
        POLL_SCHEDULER,
        { every: everyMs },
        { name: 'poll', data: {}, opts: { ...JOB_OPTIONS.poll, removeOnComplete: true, removeOnFail: 100 } },
      );
    },
    async startReconciling(everyMs) {
      // One schedule across every process: BullMQ runs each of its runs once, never two at a time.
      await queues.get(JOB_QUEUE.reconcile)?.upsertJobScheduler(
        RECONCILE_SCHEDULER,
        { every: everyMs },
        {
          name: 'reconcile',
          data: {},
          opts: { ...JOB_OPTIONS.reconcile, removeOnComplete: true, removeOnFail: 100 },
        },
      );
    },
    repair,
    queues: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
