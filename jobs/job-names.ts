// Queue and job names with their payloads, in one place. Payloads carry ids only — never secrets or links.

export const QUEUES = {
  /** `runliveresponse` submissions: paced by Defender's run budget, sessions and device locks. */
  submit: 'lr-submit',
  /** Every other Defender call: polling, results, fresh links, cancel, expiry. */
  defender: 'lr-defender',
  /** Card updates in Teams, paced per conversation thread. */
  cards: 'lr-cards',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export type JobPayloads = {
  submit: { requestId: string };
  poll: Record<string, never>;
  fetchResult: { requestId: string; index: number };
  freshLinks: { requestId: string };
  cancel: { requestId: string };
  expire: { requestId: string };
  updateCard: { requestId: string };
  escalate: { requestId: string };
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
};

export type AnyJob = { [N in JobName]: { name: N; data: JobPayloads[N] } }[JobName];
