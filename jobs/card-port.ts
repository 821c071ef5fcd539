// What the card worker needs from Teams: replace the request's card for everyone. Implemented in bot/.
import type { AdaptiveCard } from '../cards/adaptive-card.js';
import type { LiveResponseRequest } from '../core/request.js';

export type CardJson = AdaptiveCard;

export interface CardPort {
  /** Replaces the request's card activity (stored conversation reference + activity id). */
  updateCard(request: LiveResponseRequest, card: CardJson): Promise<void>;
}

/** A Teams connector failure, classified so the worker knows whether and when to retry. */
export class TeamsApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'TeamsApiError';
  }

  /** 429, 412, 5xx and network failures are worth retrying; other 4xx are not (the card was deleted, the bot removed). */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status === 412 || this.status >= 500;
  }
}
