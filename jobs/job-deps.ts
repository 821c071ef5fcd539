// What job processors receive: the stores and clients they need, built once in the composition root.
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { RequestStore } from '../core/request-store.js';
import type { DefenderBudget } from '../defender/defender-budget.js';
import type { DefenderApi } from '../defender/defender-client.js';
import type { ResultLinkStore } from '../defender/result-links.js';
import type { SessionSlots } from '../defender/session-slots.js';
import type { EffectPorts } from './dispatch-effects.js';
import type { JobScheduler } from './job-scheduler.js';

export interface JobDeps {
  requests: RequestStore;
  /** Budgeted: every call waits for Defender's shared API budget. */
  defender: DefenderApi;
  budget: DefenderBudget;
  sessions: SessionSlots;
  links: ResultLinkStore;
  scheduler: JobScheduler;
  clock: Clock;
  logger: Logger;
  /** Test-only hook between a write and its effects (see EffectPorts). */
  beforeEffects?: EffectPorts['beforeEffects'];
  settings: {
    pollIntervalMs: number;
    /** Where the request was raised, for the Defender Comment. */
    channelLabel: (conversationId: string) => string;
    /** Bytes of a RunScript transcript to download for the summary. */
    transcriptMaxBytes: number;
    /**
     * SUBMIT_DEADLINE: from approval, how long the submit job keeps trying before it ends the request "Could not be
     * submitted" (once Defender lists no action of it). Absent: no deadline.
     */
    submitDeadlineMs?: number;
  };
}

/**
 * Puts the job back to sleep until `ms` from now without spending an attempt
 * (BullMQ's documented way to postpone a job from inside its processor).
 */
export async function postpone(job: Job, token: string | undefined, ms: number, now: number): Promise<never> {
  await job.moveToDelayed(now + Math.max(50, Math.round(ms)), token);
  throw new DelayedError();
}
