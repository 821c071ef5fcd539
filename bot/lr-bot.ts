// The Teams edge: turns messages and card invokes into flow calls and flow answers into Teams replies.
import {
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  TeamsActivityHandler,
  TurnContext,
} from 'botbuilder';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { CARD_VERBS, isCardVerb } from '../cards/card-verbs.js';
import type { RedisKeys } from '../core/redis-keys.js';
import { type ActionReply, handleCardAction } from '../flows/handle-card-action.js';
import { type FlowDeps, handleMessage } from '../flows/handle-message.js';
import { createChatTurn } from './teams-turn.js';

export interface BotDeps {
  flows: FlowDeps;
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  /** Counts an outgoing message against the thread's Teams budget. */
  onSend?: (conversationId: string) => Promise<void>;
}

const REQUEST_ID = /\bLR-[0-9A-Z]{6}\b/i;

/**
 * What every log line of a Teams turn carries (through core/log-context.ts): the activity, and the request it is
 * about when the activity names one — a card click's data, the Action.Submit fallback's value, or a typed
 * `status`/`cancel`/`audit LR-…`. A turn that creates its request adds the id when it has one (handle-message).
 */
export function turnLogFields(activity: unknown): Record<string, string | undefined> {
  if (typeof activity !== 'object' || activity === null) return {};
  const { id, type, value, text } = activity as {
    id?: unknown;
    type?: unknown;
    value?: unknown;
    text?: unknown;
  };
  const data = (value as { action?: { data?: unknown } } | undefined)?.action?.data ?? value;
  const fromData = (data as { requestId?: unknown } | undefined)?.requestId;
  const named =
    typeof fromData === 'string'
      ? REQUEST_ID.exec(fromData)?.[0]
      : typeof text === 'string'
        ? REQUEST_ID.exec(text)?.[0]
        : undefined;
  return {
    activityId: typeof id === 'string' ? id.slice(0, 100) : undefined,
    activityType: typeof type === 'string' ? type.slice(0, 40) : undefined,
    requestId: named?.toUpperCase(),
  };
}

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
const MESSAGE_CONTENT_TYPE = 'application/vnd.microsoft.activity.message';

function invokeResponse(reply: ActionReply): AdaptiveCardInvokeResponse {
  if (reply.kind === 'card')
    return {
      statusCode: 200,
      type: CARD_CONTENT_TYPE,
      value: reply.card as unknown as Record<string, unknown>,
    };
  // Teams shows a message-type answer to the clicker only; botbuilder types `value` as an object, but
  // Universal Actions define it as the message text for this content type.
  return {
    statusCode: 200,
    type: MESSAGE_CONTENT_TYPE,
    value: reply.text as unknown as Record<string, unknown>,
  };
}

export class LrBot extends TeamsActivityHandler {
  constructor(private readonly deps: BotDeps) {
    super();
    this.onMessage(async (context, next) => {
      await this.handleIncomingMessage(context);
      await next();
    });
  }

  private turnOf(context: TurnContext) {
    return createChatTurn(context, {
      redis: this.deps.redis,
      keys: this.deps.keys,
      ...(this.deps.onSend ? { onSend: this.deps.onSend } : {}),
    });
  }

  private async handleIncomingMessage(context: TurnContext): Promise<void> {
    const value = context.activity.value as Record<string, unknown> | undefined;
    // Clients without Universal Actions send the Action.Submit fallback as a message carrying the data.
    if (value && typeof value === 'object' && typeof value.requestId === 'string') {
      const verb = value.verb;
      if (!isCardVerb(verb) || verb === CARD_VERBS.refresh) return;
      const reply = await handleCardAction(this.turnOf(context), verb, value, this.deps.flows);
      if (reply.kind === 'message') await context.sendActivity(reply.text);
      else if (reply.refusal) await context.sendActivity(reply.refusal);
      return;
    }
    const text = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '';
    await handleMessage(this.turnOf(context), text, this.deps.flows);
  }

  protected override async onAdaptiveCardInvoke(
    context: TurnContext,
    invokeValue: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    const verb = invokeValue?.action?.verb;
    const data = (invokeValue?.action?.data ?? {}) as Record<string, unknown>;
    if (!isCardVerb(verb))
      return invokeResponse({ kind: 'message', text: 'Unknown action. Nothing was done.' });
    return invokeResponse(await handleCardAction(this.turnOf(context), verb, data, this.deps.flows));
  }
}
