// Starts the BullMQ workers: routes each job name to its processor; refuses to start if a job has no handler. Every
// log line written while a job runs carries its queue, job name, job id and request id.
import { type ConnectionOptions, type Job, type MinimalJob, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { withLogContext } from '../core/log-context.js';
import { JOB_QUEUE, type JobName, QUEUES } from './job-names.js';

// biome-ignore lint/suspicious/noExplicitAny: BullMQ hands processors Job<any>; each handler narrows its own payload type.
export type Processor = (job: Job<any>, token?: string) => Promise<unknown>;

export interface WorkerSettings {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  /** How long a job's lock lasts; a crashed worker's job is picked up again after this. */
  lockDurationMs: number;
  concurrency: { submit: number; defender: number; cards: number };
}

/** Exponential back-off capped at one minute, with jitter so retries from many jobs spread out. */
export function cappedBackoff(attemptsMade: number, baseMs: number): number {
  const exp = Math.min(60_000, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export interface RunningWorkers {
  /** Stops taking jobs and waits for the running ones to finish (BullMQ's graceful close). */
  close(): Promise<void>;
  /** Every queue's worker is running (not closed, not stopped by an error). */
  running(): boolean;
}

/** The request a job is about, when its payload names one (only ids are ever in payloads). */
function requestIdOf(job: Job | undefined): string | undefined {
  const data: unknown = job?.data;
  if (typeof data !== 'object' || data === null || !('requestId' in data)) return undefined;
  return typeof data.requestId === 'string' ? data.requestId : undefined;
}

export function startWorkers(handlers: Record<JobName, Processor>, settings: WorkerSettings): RunningWorkers {
  const missing = (Object.keys(JOB_QUEUE) as JobName[]).filter(
    (name) => typeof handlers[name] !== 'function',
  );
  if (missing.length > 0) throw new Error(`No handler for job(s): ${missing.join(', ')}`);

  const concurrencyOf = {
    [QUEUES.submit]: settings.concurrency.submit,
    [QUEUES.defender]: settings.concurrency.defender,
    [QUEUES.cards]: settings.concurrency.cards,
    // The reconciler: one run at a time per process (its schedule makes it one at a time across processes too).
    [QUEUES.maintenance]: 1,
  };

  const workers = Object.values(QUEUES).map((queueName) => {
    const worker = new Worker(
      queueName,
      async (job, token) => {
        const handler = handlers[job.name as JobName];
        if (!handler || JOB_QUEUE[job.name as JobName] !== queueName)
          throw new Error(`Job ${job.name} does not belong on ${queueName}`);
        return withLogContext(
          { queue: queueName, job: job.name, jobId: job.id, requestId: requestIdOf(job) },
          () => handler(job, token),
        );
      },
      {
        connection: settings.connection,
        prefix: settings.prefix,
        concurrency: concurrencyOf[queueName],
        lockDuration: settings.lockDurationMs,
        stalledInterval: Math.max(1_000, Math.floor(settings.lockDurationMs / 2)),
        maxStalledCount: 5,
        settings: {
          backoffStrategy: (attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob) => {
            const backoff = job?.opts.backoff;
            const base = typeof backoff === 'object' && backoff.delay ? backoff.delay : 1000;
            return type === 'capped' ? cappedBackoff(attemptsMade, base) : base;
          },
        },
      },
    );
    worker.on('failed', (job, error) => {
      settings.logger.warn(
        {
          queue: queueName,
          job: job?.name,
          jobId: job?.id,
          requestId: requestIdOf(job),
          attempts: job?.attemptsMade,
          err: error,
        },
        'job failed',
      );
    });
    worker.on('error', (error) => settings.logger.error({ queue: queueName, err: error }, 'worker error'));
    return worker;
  });

  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
    running: () => workers.every((w) => w.isRunning()),
  };
}
