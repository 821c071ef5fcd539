// Replaces a request's card from a worker: the stored conversation reference plus CloudAdapter.continueConversationAsync.
import { CardFactory, type CloudAdapter, type ConversationReference } from 'botbuilder';
import type { LiveResponseRequest } from '../core/request.js';
import type { CardJson, CardPort } from '../jobs/card-port.js';
import { TeamsApiError } from '../jobs/card-port.js';

/** botbuilder's own HTTP layer retries and has no timeout: a hung Teams call must not hold a worker forever. */
const UPDATE_TIMEOUT_MS = 20_000;

/** botbuilder's connector errors carry the HTTP status and headers; turn them into what the worker decides on. */
export function toTeamsApiError(error: unknown): TeamsApiError {
  if (error instanceof TeamsApiError) return error;
  const e = error as {
    statusCode?: number;
    message?: string;
    response?: { headers?: { get?(name: string): string | undefined } };
  };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const retryAfter = e?.response?.headers?.get?.('retry-after');
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  return new TeamsApiError(
    `Teams ${status ?? 'network'} error: ${String(e?.message ?? error).slice(0, 200)}`,
    status,
    Number.isFinite(seconds) ? seconds * 1000 : undefined,
  );
}

/**
 * Posts a request's card as a new message in its conversation (the reconciler's repair of a card the bot lost track
 * of) and returns the new activity's id. Teams has no idempotency key for sends: the caller records the id at once.
 */
export function createTeamsCardPoster(
  adapter: CloudAdapter,
  botAppId: string,
): (request: LiveResponseRequest, card: CardJson) => Promise<string> {
  return async (request, card) => {
    const reference = request.conversationRef as unknown as ConversationReference;
    let sent: string | undefined;
    let failure: unknown;
    await adapter.continueConversationAsync(botAppId, reference, async (context) => {
      try {
        sent = (await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] }))?.id;
      } catch (error) {
        failure = error;
      }
    });
    if (failure) throw toTeamsApiError(failure);
    if (!sent) throw new TeamsApiError('Teams gave no id for the posted card', undefined, undefined);
    return sent;
  };
}

export function createTeamsCardPort(adapter: CloudAdapter, botAppId: string): CardPort {
  return {
    async updateCard(request, card) {
      if (!request.card) return;
      const reference = request.conversationRef as unknown as ConversationReference;
      const activityId = request.card.activityId;
      // continueConversationAsync hands errors thrown inside the turn to onTurnError and then resolves:
      // catch them inside so the worker sees the failure and retries.
      let failure: unknown;
      const update = adapter.continueConversationAsync(botAppId, reference, async (context) => {
        try {
          await context.updateActivity({
            type: 'message',
            id: activityId,
            conversation: reference.conversation,
            attachments: [CardFactory.adaptiveCard(card)],
          });
        } catch (error) {
          failure = error;
        }
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new TeamsApiError('Teams did not answer the card update in time', undefined, undefined)),
          UPDATE_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([update, timeout]);
      } catch (error) {
        throw toTeamsApiError(error);
      } finally {
        clearTimeout(timer);
      }
      if (failure) throw toTeamsApiError(failure);
    },
  };
}
