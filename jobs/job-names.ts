// Queue and job names with their payloads, in one place. Payloads carry ids only — never secrets or links.

export const QUEUES = {
  /** `runliveresponse` submissions: paced by Defender's run budget, sessions and device locks. */
  submit: 'lr-submit',
  /** Every other Defender call: polling, results, fresh links, cancel, expiry. */
  defender: 'lr-defender',
  /** Card updates in Teams, paced per conversation thread. */
  cards: 'lr-cards',
  /** The reconciler, apart from the queues it repairs: a lost work queue does not take it along. */
  maintenance: 'lr-maintenance',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type JobPayloads = {
  /**
   * `reconciled`: re-created by the reconciler, so the submission looks for an earlier attempt's action first.
   * `waitedForTurn`: it already waited once for the budget slot of its place in line (see the submit processor).
   */
  submit: { requestId: string; reconciled?: boolean; waitedForTurn?: boolean };
  poll: Record<string, never>;
  fetchResult: { requestId: string; index: number };
  freshLinks: { requestId: string };
  cancel: { requestId: string };
  expire: { requestId: string };
  updateCard: { requestId: string };
  escalate: { requestId: string };
  reconcile: Record<string, never>;
};

export type JobName = keyof JobPayloads;

/** Which queue runs which job. */
export const JOB_QUEUE: Record<JobName, QueueName> = {
  submit: QUEUES.submit,
  poll: QUEUES.defender,
  fetchResult: QUEUES.defender,
  freshLinks: QUEUES.defender,
  cancel: QUEUES.defender,
  expire: QUEUES.defender,
  updateCard: QUEUES.cards,
  // Ends in a card update that mentions the next tier; rare, and Teams-facing like the card jobs.
  escalate: QUEUES.cards,
  reconcile: QUEUES.maintenance,
};

export type AnyJob = { [N in JobName]: { name: N; data: JobPayloads[N] } }[JobName];
