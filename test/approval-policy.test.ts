// Who may decide on a request, checked on every click against Redis and the policy, never against the card:
// refusals say why and are audited, one approval wins a race, and the click is answered without Defender.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, runLiveResponseAttempts } from './support/chat-helpers.js';
import type { AdaptiveCardJson, PostedActivity } from './support/fake-teams-connector.js';
import { askFor, cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { InvokeResult, TeamsClient } from './support/teams-client.js';
import {
  type ChannelConversation,
  channelThread,
  GROUP_CHAT,
  OTHER_TENANT_ID,
  personalChat,
  TENANT_ID,
  type TeamsConversation,
  type TeamsUser,
  USERS,
} from './support/teams-fixtures.js';

const MESSAGE_REPLY = 'application/vnd.microsoft.activity.message';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack();
  client = teamsClientFor(stack);
});

afterAll(async () => {
  await stack?.close();
});

interface Asked {
  thread: ChannelConversation;
  activity: PostedActivity;
  card: AdaptiveCardJson;
  requestId: string;
}

async function ask(from: TeamsUser = USERS.requester, device = 'desktop-test'): Promise<Asked> {
  const thread = channelThread();
  const asked = await askFor(stack, client, thread, from, `run whoami.ps1 on ${device}`);
  return { thread, ...asked };
}

function click(
  asked: Asked,
  from: TeamsUser,
  verb: string,
  options: { conversation?: TeamsConversation; data?: Record<string, unknown>; automatic?: boolean } = {},
): Promise<InvokeResult> {
  return client.invokeAction({
    conversation: options.conversation ?? asked.thread,
    from,
    replyToId: asked.activity.id,
    verb,
    data: { requestId: asked.requestId, ...options.data },
    ...(options.automatic ? { trigger: 'automatic' as const } : {}),
  });
}

/** The text of a refusal: Teams shows a message-type invoke answer to the clicker only. */
function refusal(result: InvokeResult): string {
  expect(result.status).toBe(200);
  expect(result.body?.type).toBe(MESSAGE_REPLY);
  expect(result.card).toBeUndefined();
  return String(result.body?.value);
}

async function stateOf(requestId: string): Promise<string | undefined> {
  const doc = await stack.redis.hget(`${stack.prefix}:req:${requestId}`, 'doc');
  return doc ? (JSON.parse(doc) as { state: string }).state : undefined;
}

/**
 * A refused decision: Teams shows the invoke response card to the clicker only, as their own view of the request,
 * with the reason first and no button they could press again. Returns the reason.
 */
function refusedView(result: InvokeResult): string {
  expect(result.status).toBe(200);
  expect(result.card).toBeDefined();
  expect(stack.teams.findAction(result.card, 'Approve')).toBeUndefined();
  expect(stack.teams.findAction(result.card, 'Reject')).toBeUndefined();
  return (
    cardText(result.card)
      .split('\n')
      .find((line) => /Only the on-call|another approver/.test(line)) ?? ''
  );
}

/** Whether this card version shows a button; no button is ever drawn disabled (Teams ignores isEnabled). */
function hasAction(card: AdaptiveCardJson | undefined, title: string): boolean {
  const action = stack.teams.findAction(card, title);
  if (action) expect(action.isEnabled).toBeUndefined();
  return action !== undefined;
}

describe('who may approve', () => {
  it('refuses an approval from someone who is not an approver and audits the refusal', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);

    const text = refusedView(await click(asked, USERS.outsider, 'lr.approve'));
    expect(text).toContain(`Only the on-call approvers can decide on ${asked.requestId}`);
    expect(text).toContain('Alex Lead');

    expect(await stateOf(asked.requestId)).toBe('AwaitingApproval');
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
    const refusals = (await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'refused');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.actor?.aadObjectId).toBe(USERS.outsider.aadObjectId);
    expect(refusals[0]!.detail).toMatch(/^lr\.approve: Only the on-call approvers/);
  });

  it('refuses an approval from the requester', async () => {
    const byRequester = await ask(USERS.requester);
    const requesterView = await click(byRequester, USERS.requester, 'lr.approve');
    expect(refusedView(requesterView)).toContain('Only the on-call approvers');
    // The requester's own view keeps the one button they may use.
    expect(hasAction(requesterView.card, 'Cancel')).toBe(true);

    // An approver who asks for live response themselves still needs a second approver.
    const byApprover = await ask(USERS.approver, 'desktop-test2');
    const text = refusedView(await click(byApprover, USERS.approver, 'lr.approve'));
    expect(text).toBe(`You asked for ${byApprover.requestId}, so another approver has to decide on it.`);
    expect(await stateOf(byApprover.requestId)).toBe('AwaitingApproval');
    const trail = await auditTrail(stack, byApprover.requestId);
    expect(trail.map((e) => e.action)).toEqual(['requested', 'refused']);
  });

  it('accepts an approval from an approver configured by UPN', async () => {
    const asked = await ask();
    const result = await click(asked, USERS.secondApprover, 'lr.approve');
    expect(result.status).toBe(200);
    expect(cardText(result.card)).toMatch(/Approved by Sam Oncall/);
    await waitForCard(stack, asked.activity.id, /Succeeded/);
    const approvals = (await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'approved');
    expect(approvals.map((e) => e.actor?.name)).toEqual(['Sam Oncall']);
  });

  it('refuses a click from another tenant', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);
    const elsewhere: TeamsConversation = { ...asked.thread, tenantId: OTHER_TENANT_ID };
    const text = refusal(await click(asked, USERS.foreigner, 'lr.approve', { conversation: elsewhere }));
    expect(text).toBe(`${asked.requestId} belongs to another conversation.`);
    expect(await stateOf(asked.requestId)).toBe('AwaitingApproval');
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
    const refusals = (await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'refused');
    expect(refusals.map((e) => e.actor?.aadObjectId)).toEqual([USERS.foreigner.aadObjectId]);
  });

  it('refuses a request id from another conversation', async () => {
    const asked = await ask();
    const text = refusal(await click(asked, USERS.approver, 'lr.approve', { conversation: GROUP_CHAT }));
    expect(text).toBe(`${asked.requestId} belongs to another conversation.`);
    expect(await stateOf(asked.requestId)).toBe('AwaitingApproval');
  });

  it('refuses an unknown request id', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);
    for (const requestId of ['LR-ZZZZZZ', 'not-an-id']) {
      const text = refusal(await click(asked, USERS.approver, 'lr.approve', { data: { requestId } }));
      expect(text).toBe('This card refers to a request I do not know. Nothing was done.');
    }
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
  });

  it('refuses an approval sent as the Action.Submit fallback by someone who is not an approver', async () => {
    const asked = await ask();
    const before = new Set(stack.teams.activities(asked.thread.id).map((a) => a.id));
    const fallback = client.buildMessage({ conversation: asked.thread, from: USERS.outsider, text: '' });
    const { status } = await client.post({
      ...fallback,
      text: '',
      entities: [],
      replyToId: asked.activity.id,
      value: { requestId: asked.requestId, verb: 'lr.approve' },
    });
    expect(status).toBe(200);
    const replies = stack.teams
      .activities(asked.thread.id)
      .filter((a) => !before.has(a.id))
      .map((a) => a.text);
    expect(replies).toEqual([
      expect.stringContaining(`Only the on-call approvers can decide on ${asked.requestId}`),
    ]);
    expect(await stateOf(asked.requestId)).toBe('AwaitingApproval');
  });
});

describe('decisions', () => {
  it('rejects with a reason, shows who rejected and why, and sends nothing to Defender', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);
    const result = await click(asked, USERS.approver, 'lr.reject', {
      data: { rejectReason: 'collect from the EDR timeline instead' },
    });
    expect(result.status).toBe(200);
    expect(cardText(result.card)).toContain('Rejected by Alex Lead: collect from the EDR timeline instead');

    const everyone = await waitForCard(stack, asked.activity.id, /Rejected by Alex Lead/);
    expect(cardText(everyone)).toContain('collect from the EDR timeline instead');
    expect(stack.teams.findAction(everyone, 'Approve')).toBeUndefined();
    expect(await stateOf(asked.requestId)).toBe('Rejected');
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
    const rejected = (await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'rejected');
    expect(rejected).toEqual([
      expect.objectContaining({
        detail: 'collect from the EDR timeline instead',
        actor: expect.objectContaining({ name: 'Alex Lead' }),
      }),
    ]);
  });

  it('submits once when two approvers approve at the same moment, and refuses a later approval', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);
    const results = await Promise.all([
      click(asked, USERS.approver, 'lr.approve'),
      click(asked, USERS.secondApprover, 'lr.approve'),
    ]);
    for (const result of results) expect(result.status).toBe(200);
    const texts = results.map((r) => cardText(r.card));
    const winners = texts.filter((t) => !/was already approved/.test(t));
    expect(winners).toHaveLength(1);
    expect(texts.filter((t) => /was already approved by (Alex Lead|Sam Oncall)/.test(t))).toHaveLength(1);

    await waitForCard(stack, asked.activity.id, /Succeeded/);
    expect(runLiveResponseAttempts(stack) - attempts).toBe(1);
    expect((await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'approved')).toHaveLength(1);

    const late = await click(asked, USERS.approver, 'lr.approve');
    expect(late.status).toBe(200);
    expect(cardText(late.card)).toMatch(/was already approved by/);
    expect(cardText(late.card)).toContain('Succeeded');
    expect(await stateOf(asked.requestId)).toBe('Succeeded');
    expect(runLiveResponseAttempts(stack) - attempts).toBe(1);
    const trail = await auditTrail(stack, asked.requestId);
    expect(trail.filter((e) => e.action === 'approved')).toHaveLength(1);
    expect(trail.filter((e) => e.action === 'refused').length).toBeGreaterThanOrEqual(2);
  });
});

describe('racing decisions', () => {
  it('records exactly one decision when Approve and Reject are clicked at the same moment', async () => {
    const asked = await ask();
    const attempts = runLiveResponseAttempts(stack);
    await Promise.all([
      click(asked, USERS.approver, 'lr.approve'),
      click(asked, USERS.secondApprover, 'lr.reject'),
    ]);
    const trail = await auditTrail(stack, asked.requestId);
    const decisions = trail.filter((e) => e.action === 'approved' || e.action === 'rejected');
    expect(decisions).toHaveLength(1);
    const approved = decisions[0]?.action === 'approved';
    const final = await waitForCard(
      stack,
      asked.activity.id,
      approved ? /Succeeded/ : /Rejected by Sam Oncall/,
    );
    expect(cardText(final)).not.toMatch(approved ? /Rejected by/ : /Approved by/);
    expect(runLiveResponseAttempts(stack) - attempts).toBe(approved ? 1 : 0);
  });
});

describe('the approval card', () => {
  it('mentions the approvers and asks Teams to refresh it for them and the requester', async () => {
    const { card } = await ask();
    const mentioned = (card.msteams as { entities?: { mentioned: { id: string } }[] }).entities ?? [];
    expect(mentioned.map((m) => m.mentioned.id).sort()).toEqual(
      [USERS.approver.id, USERS.secondApprover.id].sort(),
    );
    expect(cardText(card)).toContain('<at>Alex Lead</at>');
    expect(card.refresh?.userIds?.slice().sort()).toEqual(
      [USERS.requester.id, USERS.approver.id, USERS.secondApprover.id].sort(),
    );
    // The card as posted works in every client: it carries Approve, Reject and Cancel, none drawn disabled.
    expect(hasAction(card, 'Approve')).toBe(true);
    expect(hasAction(card, 'Reject')).toBe(true);
    expect(hasAction(card, 'Cancel')).toBe(true);
  });

  it('lets an approver approve from the card as posted, with no per-user view asked for', async () => {
    const asked = await ask();
    const result = await client.clickAction({
      conversation: asked.thread,
      from: USERS.approver,
      activity: asked.activity,
      action: 'Approve',
    });
    expect(result.status).toBe(200);
    expect(cardText(result.card)).toMatch(/Approved by Alex Lead/);
    await waitForCard(stack, asked.activity.id, /Approved by Alex Lead/);
  });

  it('gives approvers Approve and Reject, the requester Cancel, and others no buttons in their own views', async () => {
    const asked = await ask();
    const viewOf = async (user: TeamsUser) => {
      const result = await click(asked, user, 'lr.refresh', { automatic: true });
      expect(result.status).toBe(200);
      expect(result.card).toBeDefined();
      return result.card;
    };
    const approver = await viewOf(USERS.approver);
    expect(hasAction(approver, 'Approve')).toBe(true);
    expect(hasAction(approver, 'Reject')).toBe(true);

    const byUpn = await viewOf(USERS.secondApprover);
    expect(hasAction(byUpn, 'Approve')).toBe(true);

    const requester = await viewOf(USERS.requester);
    expect(hasAction(requester, 'Approve')).toBe(false);
    expect(hasAction(requester, 'Cancel')).toBe(true);

    const outsider = await viewOf(USERS.outsider);
    expect(hasAction(outsider, 'Approve')).toBe(false);
    expect(hasAction(outsider, 'Reject')).toBe(false);
    expect(hasAction(outsider, 'Cancel')).toBe(false);
    expect(await stateOf(asked.requestId)).toBe('AwaitingApproval');
  });
});

describe('a bot without workers, allowed for one tenant', () => {
  // Without workers nothing can reach Defender after the turn, so any Defender call would be the click's own.
  let quiet: Stack;
  let quietClient: TeamsClient;

  beforeAll(async () => {
    quiet = await startStack({ workers: false, env: { ALLOWED_TENANT_IDS: TENANT_ID } });
    quietClient = teamsClientFor(quiet);
  });

  afterAll(async () => {
    await quiet?.close();
  });

  it('answers an approval with the queued card without calling Defender in the turn', async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      quiet,
      quietClient,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    const defenderCalls = quiet.sim.control.calls().length;

    const result = await quietClient.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });

    expect(result.status).toBe(200);
    expect(cardText(result.card)).toMatch(/Approved by Alex Lead at .* — queued/);
    expect(quiet.sim.control.calls()).toHaveLength(defenderCalls);
    const doc = await quiet.redis.hget(`${quiet.prefix}:req:${requestId}`, 'doc');
    expect((JSON.parse(doc!) as { state: string }).state).toBe('Approved');
  });

  it('records an approval that comes after the deadline as expired and submits nothing', async () => {
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      quiet,
      quietClient,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    // The deadline passed and the expiry job has not run yet (workers are down, or it is just late).
    const key = `${quiet.prefix}:req:${requestId}`;
    const doc = JSON.parse((await quiet.redis.hget(key, 'doc'))!) as { expiresAt: string };
    await quiet.redis.hset(
      key,
      'doc',
      JSON.stringify({ ...doc, expiresAt: new Date(Date.now() - 60_000).toISOString() }),
    );

    const result = await quietClient.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(result.status).toBe(200);
    expect(cardText(result.card)).toContain(`${requestId} expired before a decision`);
    expect(cardText(result.card)).not.toContain('Approved by');
    const stored = JSON.parse((await quiet.redis.hget(key, 'doc'))!) as { state: string; decision?: unknown };
    expect(stored.state).toBe('Expired');
    expect(stored.decision).toBeUndefined();
    const trail = await quiet.redis.lrange(`${quiet.prefix}:audit:${requestId}`, 0, -1);
    const actions = trail.map((e) => (JSON.parse(e) as { action: string }).action);
    expect(actions).toContain('expired');
    expect(actions).not.toContain('approved');
    expect(quiet.sim.control.calls({ method: 'POST' })).toHaveLength(0);
  });

  it('refuses messages and clicks from a tenant that is not allowed', async () => {
    const defenderCalls = quiet.sim.control.calls().length;
    const chat = personalChat(USERS.foreigner);
    expect(
      await quietClient.sendMessage({
        conversation: chat,
        from: USERS.foreigner,
        text: 'run whoami.ps1 on desktop-test',
      }),
    ).toBe(200);
    expect(quiet.teams.activities(chat.id).map((a) => a.text)).toEqual([
      'This bot is not enabled for your organisation.',
    ]);

    const thread = channelThread();
    const { activity, requestId } = await askFor(
      quiet,
      quietClient,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test2',
    );
    const result = await quietClient.invokeAction({
      conversation: { ...thread, tenantId: OTHER_TENANT_ID },
      from: USERS.foreigner,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(result.body?.type).toBe(MESSAGE_REPLY);
    expect(result.body?.value).toBe('Your organisation may not use this bot.');
    const trail = await quiet.redis.lrange(`${quiet.prefix}:audit:${requestId}`, 0, -1);
    expect(trail.map((e) => (JSON.parse(e) as { action: string }).action)).toEqual(['requested', 'refused']);
    // Only the requester's pre-flight reached Defender: nothing for the foreigner's message or click.
    expect(quiet.sim.control.calls({ method: 'POST' })).toHaveLength(0);
    expect(quiet.sim.control.calls().length).toBeGreaterThan(defenderCalls);
  });
});
