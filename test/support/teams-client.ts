// Plays Teams towards the bot's /api/messages over HTTP: builds activities shaped like the ones Teams sends
// (mentions, channelData, conversation types, Universal Action invokes) and posts them anonymously.
import type { Activity, Entity } from 'botbuilder';
import {
  type AdaptiveCardJson,
  type CardActionJson,
  findAction,
  findCard,
  type PostedActivity,
} from './fake-teams-connector.js';
import { BOT, type TeamsBot, type TeamsConversation, type TeamsUser } from './teams-fixtures.js';

export interface TeamsClientOptions {
  /** The bot's messaging endpoint, e.g. `http://127.0.0.1:3978/api/messages`. */
  botUrl: string;
  /** Put in every activity as `serviceUrl`: normally the fake connector's `url`. */
  serviceUrl: string;
  /** Default `BOT` from the fixtures. */
  bot?: TeamsBot;
  /**
   * Give up on the bot's answer after this long. Default 15 000: longer than Teams' ~10 s invoke limit, so a
   * slow bot shows up as a slow answer the test can assert on rather than as a hung test.
   */
  timeoutMs?: number;
}

export interface SendMessageInput {
  conversation: TeamsConversation;
  from: TeamsUser;
  /** What the user typed, without the mention. */
  text: string;
  /** Prefix `<at>LR Bot</at>` and add the mention entity. Default: true, except in 1:1 chats. */
  mentionBot?: boolean;
}

export interface InvokeActionInput {
  conversation: TeamsConversation;
  from: TeamsUser;
  /** The card's activity id. */
  replyToId: string;
  verb: string;
  data?: unknown;
  /** `manual` for a click, `automatic` for a `refresh` Teams asks for on the user's behalf. Default `manual`. */
  trigger?: 'manual' | 'automatic';
}

export interface ClickActionInput {
  conversation: TeamsConversation;
  from: TeamsUser;
  /** The card message as the fake connector holds it. */
  activity: PostedActivity;
  /** The button's title (case-insensitive) or its verb. */
  action: string | { verb: string };
  trigger?: 'manual' | 'automatic';
}

/** The body a bot answers an `adaptiveCard/action` invoke with. */
export interface InvokeResponseBody {
  statusCode?: number;
  type?: string;
  value?: unknown;
}

export interface InvokeResult {
  /** HTTP status of the POST to /api/messages. */
  status: number;
  body: InvokeResponseBody | undefined;
  /** The card in the answer, which Teams shows to the clicker only. */
  card: AdaptiveCardJson | undefined;
  /** How long the bot took to answer, in ms (Teams gives up at about 10 s). */
  elapsedMs: number;
}

export interface TeamsClient {
  sendMessage(input: SendMessageInput): Promise<number>;
  invokeAction(input: InvokeActionInput): Promise<InvokeResult>;
  /** Finds the button on the card and invokes it, failing clearly when the card has no such button. */
  clickAction(input: ClickActionInput): Promise<InvokeResult>;
  /** Posts any activity; `serviceUrl` and `recipient` are filled in when missing. */
  post(activity: Partial<Activity>): Promise<{ status: number; body: unknown; elapsedMs: number }>;
  /** The message activity `sendMessage` would post, for tests that need its id or want to alter it. */
  buildMessage(input: SendMessageInput): Partial<Activity>;
  buildInvoke(input: InvokeActionInput): Partial<Activity>;
}

const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

let lastId = 0;
/** Teams' message ids are epoch milliseconds. */
function nextMessageId(): string {
  lastId = Math.max(lastId + 1, Date.now());
  return String(lastId);
}

export function createTeamsClient(options: TeamsClientOptions): TeamsClient {
  const bot = options.bot ?? BOT;
  const timeoutMs = options.timeoutMs ?? 15_000;
  // The first message sent to a thread is its root post and carries the thread's message id.
  const startedThreads = new Set<string>();

  function buildMessage(input: SendMessageInput): Partial<Activity> {
    const { conversation, from } = input;
    const mention = input.mentionBot ?? conversation.kind !== 'personal';
    const mentionText = `<at>${bot.name}</at>`;
    const text = mention ? `${mentionText} ${input.text}` : input.text;
    let id = nextMessageId();
    let replyToId: string | undefined;
    if (conversation.kind === 'channel') {
      if (startedThreads.has(conversation.id)) {
        replyToId = conversation.rootMessageId;
      } else {
        startedThreads.add(conversation.id);
        id = conversation.rootMessageId;
      }
    }
    return {
      type: 'message',
      id,
      ...(replyToId ? { replyToId } : {}),
      text,
      textFormat: 'plain',
      // Teams also sends the rich text it rendered; bots must not mistake it for a file.
      attachments: [{ contentType: 'text/html', content: `<p>${htmlOf(text, bot.name)}</p>` }],
      ...common(conversation, from),
      entities: [
        ...(mention
          ? [{ type: 'mention', text: mentionText, mentioned: { id: bot.id, name: bot.name } }]
          : []),
        clientInfo(),
      ],
      channelData: channelData(conversation),
    };
  }

  function buildInvoke(input: InvokeActionInput): Partial<Activity> {
    const { conversation, from } = input;
    return {
      type: 'invoke',
      name: 'adaptiveCard/action',
      // Teams' invoke ids look like `f:<number>`.
      id: `f:${nextMessageId()}`,
      replyToId: input.replyToId,
      value: {
        action: {
          type: 'Action.Execute',
          verb: input.verb,
          ...(input.data === undefined ? {} : { data: input.data }),
        },
        trigger: input.trigger ?? 'manual',
      },
      ...common(conversation, from),
      entities: [clientInfo()],
      channelData: {
        ...channelData(conversation),
        source: { name: 'message' },
        legacy: { replyToId: input.replyToId },
      },
    };
  }

  function common(conversation: TeamsConversation, from: TeamsUser): Partial<Activity> {
    const timestamp = new Date();
    return {
      channelId: 'msteams',
      serviceUrl: options.serviceUrl,
      timestamp,
      localTimestamp: timestamp,
      locale: 'en-US',
      localTimezone: 'Europe/London',
      from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
      recipient: { id: bot.id, name: bot.name },
      conversation: conversationAccount(conversation),
    };
  }

  async function post(
    activity: Partial<Activity>,
  ): Promise<{ status: number; body: unknown; elapsedMs: number }> {
    const payload = {
      serviceUrl: options.serviceUrl,
      recipient: { id: bot.id, name: bot.name },
      ...activity,
    };
    const started = performance.now();
    const response = await fetch(options.botUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const elapsedMs = Math.round(performance.now() - started);
    return { status: response.status, body: parseMaybeJson(text), elapsedMs };
  }

  async function invokeAction(input: InvokeActionInput): Promise<InvokeResult> {
    const { status, body, elapsedMs } = await post(buildInvoke(input));
    const invokeBody = isObject(body) ? (body as InvokeResponseBody) : undefined;
    const card =
      invokeBody?.type === ADAPTIVE_CARD_CONTENT_TYPE && isObject(invokeBody.value)
        ? (invokeBody.value as AdaptiveCardJson)
        : undefined;
    return { status, body: invokeBody, card, elapsedMs };
  }

  return {
    async sendMessage(input) {
      return (await post(buildMessage(input))).status;
    },
    invokeAction,
    async clickAction(input) {
      const card = findCard(input.activity);
      const action: CardActionJson | undefined = findAction(card, input.action);
      if (!action?.verb) {
        const wanted = typeof input.action === 'string' ? `"${input.action}"` : `verb ${input.action.verb}`;
        throw new Error(
          `No Action.Execute ${wanted} on activity ${input.activity.id}; card: ${JSON.stringify(card)?.slice(0, 2_000)}`,
        );
      }
      return invokeAction({
        conversation: input.conversation,
        from: input.from,
        replyToId: input.activity.id,
        verb: action.verb,
        data: action.data,
        ...(input.trigger ? { trigger: input.trigger } : {}),
      });
    },
    post,
    buildMessage,
    buildInvoke,
  };
}

function conversationAccount(conversation: TeamsConversation): Activity['conversation'] {
  const account = {
    id: conversation.id,
    conversationType: conversation.kind,
    isGroup: conversation.kind !== 'personal',
    tenantId: conversation.tenantId,
  };
  // Teams sends no conversation name; botbuilder's type insists on one, so the cast keeps the payload real.
  return account as Activity['conversation'];
}

function channelData(conversation: TeamsConversation): Record<string, unknown> {
  const tenant = { id: conversation.tenantId };
  if (conversation.kind !== 'channel') return { tenant };
  return {
    teamsChannelId: conversation.channel.id,
    teamsTeamId: conversation.team.id,
    channel: { id: conversation.channel.id },
    team: { id: conversation.team.id },
    tenant,
  };
}

function clientInfo(): Entity {
  return { type: 'clientInfo', locale: 'en-US', country: 'GB', platform: 'Web', timezone: 'Europe/London' };
}

/** The HTML Teams renders for a message, with the mention as Teams marks it up. */
function htmlOf(text: string, botName: string): string {
  const mentionHtml = `<span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">${escapeHtml(botName)}</span>`;
  return text.split(`<at>${botName}</at>`).map(escapeHtml).join(mentionHtml);
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function parseMaybeJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
