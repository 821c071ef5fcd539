// The Action.Execute verbs of every card, in one place: cards put them on buttons, bot/ routes invokes by them.

export const CARD_VERBS = {
  approve: 'lr.approve',
  reject: 'lr.reject',
  cancel: 'lr.cancel',
  /** Mint new Defender download links; runs nothing on the device. */
  freshLinks: 'lr.freshLinks',
  /** Teams' automatic refresh asking for one user's view of the card. */
  refresh: 'lr.refresh',
  /** "Collect <file>": ask for a GetFile of a file the finished request's output named (a new request). */
  followUp: 'lr.followUp',
  /** The parent's approver approves its follow-ups in advance for a short window (FOLLOWUP_PREAPPROVAL). */
  preApproveFollowUps: 'lr.preApproveFollowUps',
} as const;

export type CardVerb = (typeof CARD_VERBS)[keyof typeof CARD_VERBS];

/**
 * The `data` every card action carries. Never trusted: the bot re-reads the request from Redis.
 * A type alias, not an interface, so it stays assignable to plain JSON object types.
 */
export type CardActionData = { requestId: string };

/** What a "Collect <file>" click carries: the path as the card offered it (checked against the request again). */
export type FollowUpActionData = CardActionData & { path: string };

/** The id of the Input.Text whose value arrives with a Reject click (merged into the action data by Teams). */
export const REJECT_REASON_INPUT_ID = 'rejectReason';

/** Longest reject reason the card accepts; the bot must enforce it again. */
export const REJECT_REASON_MAX_LENGTH = 500;

/** What a Reject click carries: the action data plus the optional reason input. */
export type RejectActionData = CardActionData & { [REJECT_REASON_INPUT_ID]?: string };

export function isCardVerb(value: unknown): value is CardVerb {
  return typeof value === 'string' && (Object.values(CARD_VERBS) as string[]).includes(value);
}
