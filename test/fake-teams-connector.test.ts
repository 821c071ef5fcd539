// Checks the fake Teams connector and the Teams client against a real botbuilder CloudAdapter echo bot over
// HTTP, so the integration tests built on them exercise what botbuilder really sends and receives.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
  TeamsActivityHandler,
  TeamsInfo,
  type TurnContext,
  TurnContext as TurnContextClass,
} from 'botbuilder';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdaptiveCardJson,
  type FakeTeamsConnector,
  findAction,
  startFakeTeamsConnector,
} from './support/fake-teams-connector.js';
import { createTeamsClient, type TeamsClient } from './support/teams-client.js';
import { channelThread, GROUP_CHAT, registerFixtures, USERS } from './support/teams-fixtures.js';

const CARD = 'application/vnd.microsoft.card.adaptive';

/** What a real bot keeps per conversation (in Redis in the product): where to post later. */
interface Remembered {
  reference: Partial<ConversationReference>;
  replyId: string;
}

class EchoBot extends TeamsActivityHandler {
  readonly remembered = new Map<string, Remembered>();

  constructor() {
    super();
    this.onMessage(async (context, next) => {
      TurnContextClass.removeRecipientMention(context.activity);
      const text = (context.activity.text ?? '').trim();
      if (text.startsWith('whois ')) {
        await context.sendActivity(await describeMember(context, text.slice('whois '.length)));
      } else if (text === 'card') {
        await context.sendActivity({
          attachments: [{ contentType: CARD, content: approvalCard('Approve me') }],
        });
      } else {
        const reply = await context.sendActivity(`echo: ${text}`);
        this.remembered.set(context.activity.conversation.id, {
          reference: TurnContextClass.getConversationReference(context.activity),
          replyId: reply?.id ?? '',
        });
      }
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(
    context: TurnContext,
    invokeValue: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    const card = approvalCard(`${invokeValue.action.verb} by ${context.activity.from.name}`);
    return { statusCode: 200, type: CARD, value: card as unknown as Record<string, unknown> };
  }
}

async function describeMember(context: TurnContext, who: string): Promise<string> {
  try {
    const member = await TeamsInfo.getMember(context, who);
    return `member ${member.aadObjectId} ${member.userPrincipalName} ${member.name}`;
  } catch (error) {
    return `not found: ${(error as { statusCode?: number }).statusCode}`;
  }
}

function approvalCard(title: string): AdaptiveCardJson {
  return {
    type: 'AdaptiveCard',
    version: '1.5',
    body: [{ type: 'TextBlock', text: title }],
    actions: [
      { type: 'Action.Execute', title: 'Approve', verb: 'approve', data: { requestId: 'LR-TEST01' } },
    ],
  };
}

describe('fake Teams connector with a real botbuilder CloudAdapter', () => {
  let connector: FakeTeamsConnector;
  let server: Server;
  let adapter: CloudAdapter;
  let bot: EchoBot;
  let teams: TeamsClient;
  const turnErrors: unknown[] = [];

  beforeAll(async () => {
    connector = await startFakeTeamsConnector();
    registerFixtures(connector);
    // An empty configuration is anonymous: no app id, no token on outgoing calls, no check on incoming ones.
    adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    adapter.onTurnError = async (_context, error) => {
      turnErrors.push(error);
    };
    bot = new EchoBot();
    const app = express();
    app.use(express.json());
    app.post('/api/messages', async (req, res) => {
      await adapter.process(req, res, (context) => bot.run(context));
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const { port } = server.address() as AddressInfo;
    teams = createTeamsClient({ botUrl: `http://127.0.0.1:${port}/api/messages`, serviceUrl: connector.url });
  });

  afterEach(() => {
    connector.reset();
    turnErrors.length = 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await connector.close();
  });

  it('delivers the reply to a channel message in the same thread', async () => {
    const thread = channelThread();
    const status = await teams.sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'hello there',
    });
    expect(status).toBe(200);

    const reply = await connector.waitFor(
      () => connector.activities(thread.id).find((a) => a.text === 'echo: hello there'),
      {
        description: 'the echo',
      },
    );
    expect(reply.conversation.id).toBe(thread.id);
    expect(reply.replyToId).toBe(thread.rootMessageId);
    const request = connector.requestLog().find((r) => r.operation === 'replyToActivity');
    expect(request).toMatchObject({ conversationId: thread.id, outcome: 201, authorized: false });
    expect(turnErrors).toEqual([]);
  });

  it('lets a worker update the posted activity proactively, with any bot app id when anonymous', async () => {
    const thread = channelThread();
    await teams.sendMessage({ conversation: thread, from: USERS.requester, text: 'status card' });
    const { reference, replyId } = await connector.waitFor(() => bot.remembered.get(thread.id));

    // A worker has only the stored reference; the app id it passes is the configured MicrosoftAppId ('' here).
    for (const [appId, text] of [
      ['', 'updated once'],
      ['11111111-2222-3333-4444-555555555555', 'updated twice'],
    ] as const) {
      await adapter.continueConversationAsync(appId, reference, async (context) => {
        await context.updateActivity({ type: 'message', id: replyId, text });
      });
    }

    const versions = connector.history(replyId);
    expect(versions.map((v) => v.text)).toEqual(['echo: status card', 'updated once', 'updated twice']);
    expect(connector.activities(thread.id)).toHaveLength(1);
    expect(connector.activities(thread.id)[0]?.text).toBe('updated twice');
    const times = connector.historyTimes(replyId);
    expect(times).toHaveLength(3);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('answers TeamsInfo.getMember in a team by UPN, Entra object id or 29: id', async () => {
    const thread = channelThread();
    for (const who of [USERS.approver.userPrincipalName, USERS.approver.aadObjectId, USERS.approver.id]) {
      await teams.sendMessage({ conversation: thread, from: USERS.requester, text: `whois ${who}` });
    }
    await teams.sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'whois quinn@fabrikam.com',
    });

    const texts = await connector.waitFor(() => {
      const all = connector.activities(thread.id).map((a) => a.text);
      return all.length === 4 ? all : undefined;
    });
    const expected = `member ${USERS.approver.aadObjectId} ${USERS.approver.userPrincipalName} ${USERS.approver.name}`;
    expect(texts).toEqual([expected, expected, expected, 'not found: 404']);
    // In a team botbuilder asks the team's roster, not the thread's.
    const lookups = connector.requestLog().filter((r) => r.operation === 'getConversationMember');
    expect(lookups.every((r) => r.conversationId === thread.team.id)).toBe(true);
  });

  it('answers TeamsInfo.getMember in a group chat from the chat roster', async () => {
    await teams.sendMessage({
      conversation: GROUP_CHAT,
      from: USERS.requester,
      text: 'whois sam.oncall@contoso.com',
    });
    await teams.sendMessage({
      conversation: GROUP_CHAT,
      from: USERS.requester,
      text: 'whois morgan.helpdesk@contoso.com',
    });
    const texts = await connector.waitFor(() => {
      const all = connector.activities(GROUP_CHAT.id).map((a) => a.text);
      return all.length === 2 ? all : undefined;
    });
    expect(texts[0]).toContain(USERS.secondApprover.aadObjectId);
    expect(texts[1]).toBe('not found: 404');
  });

  it('sends an adaptiveCard/action invoke for a button and returns the invoke response card', async () => {
    const thread = channelThread();
    await teams.sendMessage({ conversation: thread, from: USERS.requester, text: 'card' });
    const cardMessage = await connector.waitFor(() =>
      connector.activities(thread.id).find((a) => connector.findCard(a) !== undefined),
    );

    const result = await teams.clickAction({
      conversation: thread,
      from: USERS.approver,
      activity: cardMessage,
      action: 'approve',
    });

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ statusCode: 200, type: CARD });
    expect(result.card?.body).toEqual([{ type: 'TextBlock', text: 'approve by Alex Lead' }]);
  });

  it('lets botbuilder retry one 429 with Retry-After by itself, and surfaces a lasting one with status 429', async () => {
    const thread = channelThread();
    await teams.sendMessage({ conversation: thread, from: USERS.requester, text: 'ping' });
    const { reference } = await connector.waitFor(() => bot.remembered.get(thread.id));

    // botbuilder's HTTP pipeline retries 429 (honouring Retry-After) and 5xx up to 3 times on its own.
    const once = connector.failNext({
      method: 'POST',
      pathIncludes: thread.id,
      status: 429,
      retryAfterSeconds: 0,
    });
    await adapter.continueConversationAsync('', reference, async (context) => {
      await context.sendActivity('after one 429');
    });
    expect(once.hits).toBe(1);
    expect(connector.activities(thread.id).map((a) => a.text)).toContain('after one 429');

    connector.failNext({
      method: 'POST',
      pathIncludes: thread.id,
      status: 429,
      retryAfterSeconds: 0,
      times: 4,
    });
    let caught: unknown;
    await adapter.continueConversationAsync('', reference, async (context) => {
      try {
        await context.sendActivity('never delivered');
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toMatchObject({ statusCode: 429 });

    // Uncaught in the logic, the error goes to onTurnError and continueConversationAsync resolves anyway.
    connector.failNext({
      method: 'POST',
      pathIncludes: thread.id,
      status: 429,
      retryAfterSeconds: 0,
      times: 4,
    });
    await adapter.continueConversationAsync('', reference, async (context) => {
      await context.sendActivity('never delivered either');
    });
    expect(turnErrors).toMatchObject([{ statusCode: 429 }]);
    expect(connector.throttles().filter((t) => t.reason === 'injected')).toHaveLength(9);
    expect(connector.activities(thread.id).map((a) => a.text)).toEqual(['echo: ping', 'after one 429']);
  });

  it('throttles a thread over 7 operations a second with Retry-After and records the peak', async () => {
    const conversationId = channelThread().id;
    const url = `${connector.url}v3/conversations/${encodeURIComponent(conversationId)}/activities`;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 9; i++) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: `n${i}` }),
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }

    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 201, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(connector.rateStatsFor(conversationId)).toMatchObject({
      operations: 9,
      peakPerSecond: 9,
      peakAcceptedPerSecond: 7,
      throttled: 2,
    });
    expect(connector.throttles()[0]).toMatchObject({
      reason: 'rate-limit',
      window: { windowMs: 1_000, max: 7 },
    });
  });

  it("throttles a thread's 1,801st operation within an hour, Teams' hourly thread limit", async () => {
    const clock = { t: 1_000_000_000 };
    const hourly = await startFakeTeamsConnector({ now: () => clock.t });
    try {
      const conversationId = channelThread().id;
      const url = `${hourly.url}v3/conversations/${encodeURIComponent(conversationId)}/activities`;
      const post = () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'message', text: 'update' }),
        });
      // One every 600 ms keeps under 7/1s, 8/2s and 60/30s: only the hour can refuse.
      for (let i = 0; i < 1_800; i++) {
        expect((await post()).status).toBe(201);
        clock.t += 600;
      }
      const refused = await post();
      expect(refused.status).toBe(429);
      // The first operation leaves the hour 3,600 s after it was made, 1,080 s ago.
      expect(Number(refused.headers.get('retry-after'))).toBe(3_600 - 1_080);
      expect(hourly.throttles()).toMatchObject([
        { reason: 'rate-limit', window: { windowMs: 3_600_000, max: 1_800 } },
      ]);
      clock.t += (3_600 - 1_080) * 1_000;
      expect((await post()).status).toBe(201);
    } finally {
      await hourly.close();
    }
  });

  it('leaves a hung request unanswered, and can store a send whose answer is lost', async () => {
    const conversationId = channelThread().id;
    const url = `${connector.url}v3/conversations/${encodeURIComponent(conversationId)}/activities`;
    const post = (text: string, timeoutMs = 2_000) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text }),
        signal: AbortSignal.timeout(timeoutMs),
      });

    connector.failNext({ hang: true });
    await expect(post('hangs', 300)).rejects.toThrow();

    connector.failNext({ status: 502, afterApply: true });
    expect((await post('lost answer')).status).toBe(502);
    expect(connector.activities(conversationId).map((a) => a.text)).toEqual(['lost answer']);
  });

  it('finds actions in ActionSets, ShowCards and refresh by title or verb', () => {
    const card: AdaptiveCardJson = {
      type: 'AdaptiveCard',
      refresh: { action: { type: 'Action.Execute', verb: 'refresh' }, userIds: [] },
      body: [
        {
          type: 'Container',
          items: [
            {
              type: 'ActionSet',
              actions: [{ type: 'Action.Execute', title: 'Get fresh link', verb: 'link' }],
            },
          ],
        },
      ],
      actions: [
        {
          type: 'Action.ShowCard',
          title: 'Reject',
          card: {
            type: 'AdaptiveCard',
            actions: [{ type: 'Action.Execute', title: 'Confirm reject', verb: 'reject' }],
          },
        },
      ],
    };
    expect(findAction(card, 'GET FRESH LINK')?.verb).toBe('link');
    expect(findAction(card, 'confirm reject')?.verb).toBe('reject');
    expect(findAction(card, { verb: 'refresh' })?.type).toBe('Action.Execute');
    expect(findAction(card, 'Approve')).toBeUndefined();
  });

  it('explains what it saw when waitFor times out', async () => {
    await expect(connector.waitFor(() => false, { timeoutMs: 50, description: 'nothing' })).rejects.toThrow(
      /gave up waiting for nothing after 50 ms[\s\S]*Activities/,
    );
  });
});
