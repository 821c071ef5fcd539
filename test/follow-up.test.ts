// One click for the follow-up: a finished request's card offers "Collect <file>" for files its output named; a click
// asks for a GetFile on the same device as a new request naming its parent, pre-flighted and approved like any other
// (or pre-approved by the parent's approver for a short window, FOLLOWUP_PREAPPROVAL=on).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../core/request-store.js';
import type { AdaptiveCardJson, PostedActivity } from './support/fake-teams-connector.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  type AskedRequest,
  actionsOf,
  approve,
  ask,
  click,
  currentCard,
  downloadPaths,
  ROOMY_API_RATE,
  waitForFinalCard,
  workstation,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, TEAM, USERS } from './support/teams-fixtures.js';

const DUMP = 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip';
const COLLECT = 'Collect OfficeClickToRun.dmp.zip';
const DEVICES = ['fu-01', 'fu-02', 'fu-03', 'fu-04', 'fu-05', 'fu-06', 'fu-07', 'fu-08'].map(workstation);

/** Asks for a minidump on `device`, approves it and waits for its final card offering the dump. */
async function finishedDump(stack: Stack, client: TeamsClient, device: string): Promise<AskedRequest> {
  const request = await ask(stack, client, `run minidump.ps1 OfficeClickToRun on ${device}`);
  await approve(client, request);
  await waitForFinalCard(stack, request.activity.id, /Succeeded/, (text) => text.includes(COLLECT));
  return request;
}

/** The follow-up card the click posted in the parent's thread, and its request id. */
async function followUpCard(
  stack: Stack,
  parent: AskedRequest,
): Promise<{ activity: PostedActivity; card: AdaptiveCardJson; requestId: string }> {
  const activity = await stack.teams.waitFor(
    () =>
      stack.teams
        .activities(parent.thread.id)
        .find((a) => cardText(stack.teams.findCard(a)).includes(`Follow-up of ${parent.requestId}`)),
    { description: `the follow-up card of ${parent.requestId}`, timeoutMs: 10_000 },
  );
  const card = currentCard(stack, activity.id);
  const requestId = /Live response request (LR-[A-Z0-9]{6})/.exec(cardText(card))?.[1];
  if (!requestId) throw new Error('no request id on the follow-up card');
  return { activity, card, requestId };
}

async function auditOf(stack: Stack, requestId: string): Promise<AuditEntry[]> {
  const entries = await stack.redis.lrange(`${stack.prefix}:audit:${requestId}`, 0, -1);
  return entries.map((e) => JSON.parse(e) as AuditEntry);
}

function cardsIn(stack: Stack, thread: AskedRequest['thread']): number {
  return stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a)).length;
}

describe('follow-ups (FOLLOWUP_PREAPPROVAL off, the default)', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({
      env: { DEFENDER_API_RATE: ROOMY_API_RATE },
      sim: { extraMachines: DEVICES },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a Collect click asks for the file as a follow-up naming its parent, approved like any request, to its collected file', async () => {
    const parent = await finishedDump(stack, client, 'fu-01');
    const final = currentCard(stack, parent.activity.id);
    expect(cardText(final)).not.toMatch(/Pre-approve follow-ups/);

    // Anyone in the conversation may ask: Morgan, who may not approve, becomes the follow-up's requester.
    const clicked = await click(stack, client, parent, COLLECT, USERS.outsider);
    expect(cardText(clicked.card)).toContain(`Collect ${DUMP}: asked as LR-`);
    const followUp = await followUpCard(stack, parent);
    expect(cardText(followUp.card)).toMatch(/Awaiting approval/);
    expect(cardText(followUp.card)).toContain(
      `Follow-up of ${parent.requestId}: collects a file its output named.`,
    );
    expect(cardText(followUp.card)).toContain(`getfile ${DUMP}`);
    expect(cardText(followUp.card)).toContain('Morgan Helpdesk');
    // The parent's card says what became of the file and no longer offers it.
    const parentNow = await waitForFinalCard(stack, parent.activity.id, /asked as LR-/);
    expect(cardText(parentNow)).toContain(
      `Collect ${DUMP}: asked as ${followUp.requestId} by Morgan Helpdesk`,
    );
    expect(cardText(parentNow)).not.toContain(COLLECT);
    // Nothing ran yet: the follow-up waits for an approver.
    expect(actionsOf(stack, followUp.requestId)).toHaveLength(0);

    await approve(client, { ...parent, activity: followUp.activity, requestId: followUp.requestId });
    const done = await waitForFinalCard(stack, followUp.activity.id, /Succeeded/, (t) =>
      /Download result/.test(t),
    );
    expect(downloadPaths(done)).toHaveLength(1);
    const [action] = actionsOf(stack, followUp.requestId);
    expect(action?.commands.map((c) => c.command)).toEqual([
      { type: 'GetFile', params: [{ key: 'Path', value: DUMP }] },
    ]);
    const requested = (await auditOf(stack, followUp.requestId)).find((e) => e.action === 'requested');
    expect(requested?.actor?.name).toBe('Morgan Helpdesk');
    expect(requested?.detail).toContain(`follow-up of ${parent.requestId}`);

    // A second click on the same file (the button is gone; a stale card or a forged click) asks nothing more.
    const again = await client.invokeAction({
      conversation: parent.thread,
      from: USERS.requester,
      replyToId: parent.activity.id,
      verb: 'lr.followUp',
      data: { requestId: parent.requestId, path: DUMP },
    });
    expect(cardText(again.card)).toContain(`${DUMP} was already asked for as ${followUp.requestId}`);
    expect(
      stack.teams
        .activities(parent.thread.id)
        .filter((a) => cardText(stack.teams.findCard(a)).includes('Follow-up of')),
    ).toHaveLength(1);
  });

  it('of two Collect clicks at once, one asks for the file; the other follow-up is closed saying which one did', async () => {
    const parent = await finishedDump(stack, client, 'fu-07');
    const clickAs = (from: (typeof USERS)[keyof typeof USERS]) =>
      client.invokeAction({
        conversation: parent.thread,
        from,
        replyToId: parent.activity.id,
        verb: 'lr.followUp',
        data: { requestId: parent.requestId, path: DUMP },
      });
    const answers = await Promise.all([clickAs(USERS.requester), clickAs(USERS.outsider)]);
    // One click asked; the other is told which request took the file.
    const texts = answers.map((a) => cardText(a.card));
    expect(texts.filter((t) => t.includes(`${DUMP} was already asked for as`))).toHaveLength(1);
    const parentNow = await waitForFinalCard(stack, parent.activity.id, /asked as LR-/);
    const winner = /asked as (LR-[A-Z0-9]{6})/.exec(cardText(parentNow))![1]!;
    const followUpCards = stack.teams
      .activities(parent.thread.id)
      .filter((a) => cardText(stack.teams.findCard(a)).includes(`Follow-up of ${parent.requestId}`));
    // Each follow-up card is visible; every one but the recorded one ends Cancelled, naming the one that asked first.
    for (const activity of followUpCards) {
      const text = cardText(currentCard(stack, activity.id));
      if (text.includes(`Live response request ${winner}`)) expect(text).toMatch(/Awaiting approval/);
      else {
        const closed = await waitForFinalCard(stack, activity.id, /Cancelled/);
        expect(cardText(closed)).toContain(`${winner} asked for the same file first`);
      }
    }
    expect(followUpCards.length).toBeGreaterThanOrEqual(1);
  });

  it('asks again for a file whose follow-up never ran (rejected), from a card that still shows the button', async () => {
    const parent = await finishedDump(stack, client, 'fu-08');
    const stale = currentCard(stack, parent.activity.id);
    await click(stack, client, parent, COLLECT, USERS.requester);
    const first = await followUpCard(stack, parent);
    const rejected = await client.invokeAction({
      conversation: parent.thread,
      from: USERS.approver,
      replyToId: first.activity.id,
      verb: 'lr.reject',
      data: { requestId: first.requestId, rejectReason: 'wrong file' },
    });
    expect(cardText(rejected.card)).toMatch(/Rejected by Alex Lead/);

    // Someone still looking at the card as it was (with the button) clicks it: the file is asked for again.
    const again = await client.clickAction({
      conversation: parent.thread,
      from: USERS.requester,
      activity: {
        ...parent.activity,
        attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: stale }],
      },
      action: COLLECT,
    });
    expect(cardText(again.card)).toMatch(/asked as LR-/);
    expect(cardText(again.card)).not.toContain(`asked as ${first.requestId}`);
    const cards = stack.teams
      .activities(parent.thread.id)
      .filter((a) => cardText(stack.teams.findCard(a)).includes(`Follow-up of ${parent.requestId}`));
    expect(cards).toHaveLength(2);
  });

  it('refuses a forged click: a path the card does not offer, or from another conversation', async () => {
    const parent = await finishedDump(stack, client, 'fu-02');
    const cardsBefore = cardsIn(stack, parent.thread);
    const runsBefore = stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ }).length;

    const notOffered = await client.invokeAction({
      conversation: parent.thread,
      from: USERS.requester,
      replyToId: parent.activity.id,
      verb: 'lr.followUp',
      data: { requestId: parent.requestId, path: 'C:\\Windows\\System32\\config\\SAM' },
    });
    expect(notOffered.status).toBe(200);
    expect(cardText(notOffered.card)).toContain(
      `That is not a file ${parent.requestId}'s card offers to collect`,
    );

    const elsewhere = channelThread(TEAM.general);
    const otherConversation = await client.invokeAction({
      conversation: elsewhere,
      from: USERS.requester,
      replyToId: parent.activity.id,
      verb: 'lr.followUp',
      data: { requestId: parent.requestId, path: DUMP },
    });
    expect(JSON.stringify(otherConversation.body)).toContain(
      `${parent.requestId} belongs to another conversation.`,
    );

    // Nothing was asked: no card, no Defender call, and both refusals are in the audit trail.
    expect(cardsIn(stack, parent.thread)).toBe(cardsBefore);
    expect(stack.teams.activities(elsewhere.id)).toHaveLength(0);
    expect(stack.sim.control.calls({ method: 'POST', path: /runliveresponse/ })).toHaveLength(runsBefore);
    const refused = (await auditOf(stack, parent.requestId)).filter((e) => e.action === 'refused');
    expect(refused.map((e) => e.detail)).toEqual([
      expect.stringContaining('lr.followUp: That is not a file'),
      expect.stringContaining('lr.followUp: '),
    ]);
    expect(cardText(currentCard(stack, parent.activity.id))).toContain(COLLECT);
  });

  it('warns on the follow-up card when the device went Inactive since, and a pre-approve click is refused while the setting is off', async () => {
    const parent = await finishedDump(stack, client, 'fu-03');
    stack.sim.control.setHealth('fu-03.contoso.local', 'Inactive');

    const refused = await client.invokeAction({
      conversation: parent.thread,
      from: USERS.approver,
      replyToId: parent.activity.id,
      verb: 'lr.preApproveFollowUps',
      data: { requestId: parent.requestId },
    });
    expect(cardText(refused.card)).toContain(
      'Pre-approving follow-ups is turned off here (FOLLOWUP_PREAPPROVAL=off)',
    );

    await click(stack, client, parent, COLLECT, USERS.requester);
    const followUp = await followUpCard(stack, parent);
    // The pre-flight read the device afresh: the approver sees it is Inactive before deciding.
    expect(cardText(followUp.card)).toMatch(/Defender lists this device as Inactive/);
    expect(cardText(followUp.card)).toMatch(/Awaiting approval/);
  });
});

describe('pre-approved follow-ups (FOLLOWUP_PREAPPROVAL=on)', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        DEFENDER_API_RATE: ROOMY_API_RATE,
        FOLLOWUP_PREAPPROVAL: 'on',
        FOLLOWUP_PREAPPROVAL_WINDOW: '15m',
      },
      sim: { extraMachines: DEVICES },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("the parent's approver pre-approves for 15 min: a follow-up is approved at once in their name, audited", async () => {
    const parent = await finishedDump(stack, client, 'fu-04');
    expect(cardText(currentCard(stack, parent.activity.id))).toContain('Pre-approve follow-ups for 15 min');

    // Only the approver of the parent may: the requester's click is refused.
    const byRequester = await click(
      stack,
      client,
      parent,
      'Pre-approve follow-ups for 15 min',
      USERS.requester,
    );
    expect(cardText(byRequester.card)).toContain(
      `Only Alex Lead, who approved ${parent.requestId}, may pre-approve its follow-ups.`,
    );

    const byApprover = await click(
      stack,
      client,
      parent,
      'Pre-approve follow-ups for 15 min',
      USERS.approver,
    );
    expect(cardText(byApprover.card)).toMatch(/Follow-ups pre-approved by Alex Lead until \d\d:\d\d UTC/);
    const preApproved = (await auditOf(stack, parent.requestId)).find(
      (e) => e.action === 'follow-ups pre-approved',
    );
    expect(preApproved?.actor?.name).toBe('Alex Lead');

    await waitForFinalCard(stack, parent.activity.id, /Follow-ups pre-approved/);
    await click(stack, client, parent, COLLECT, USERS.requester);
    const followUp = await followUpCard(stack, parent);
    // No approve click: the follow-up runs to its file.
    const done = await waitForFinalCard(stack, followUp.activity.id, /Succeeded/, (t) =>
      /Download result/.test(t),
    );
    expect(cardText(done)).toMatch(
      new RegExp(`Pre-approved by Alex Lead \\(follow-up of ${parent.requestId}\\) at \\d\\d:\\d\\d UTC`),
    );
    expect(actionsOf(stack, followUp.requestId)).toHaveLength(1);
    const approved = (await auditOf(stack, followUp.requestId)).find((e) => e.action === 'approved');
    expect(approved?.actor?.name).toBe('Alex Lead');
    expect(approved?.detail).toContain(`pre-approved follow-up of ${parent.requestId}`);
  });

  it("never pre-approves the pre-approver's own follow-up, nor one on a device that went Inactive", async () => {
    const own = await finishedDump(stack, client, 'fu-05');
    await click(stack, client, own, 'Pre-approve follow-ups for 15 min', USERS.approver);
    await waitForFinalCard(stack, own.activity.id, /Follow-ups pre-approved/);
    await click(stack, client, own, COLLECT, USERS.approver);
    const ownFollowUp = await followUpCard(stack, own);
    const ownCard = await waitForFinalCard(stack, ownFollowUp.activity.id, /Not pre-approved/);
    expect(cardText(ownCard)).toContain(
      'Not pre-approved: Alex Lead pre-approved follow-ups and asked for this one.',
    );
    expect(cardText(ownCard)).toMatch(/Awaiting approval/);

    const offline = await finishedDump(stack, client, 'fu-06');
    await click(stack, client, offline, 'Pre-approve follow-ups for 15 min', USERS.approver);
    await waitForFinalCard(stack, offline.activity.id, /Follow-ups pre-approved/);
    stack.sim.control.setHealth('fu-06.contoso.local', 'Inactive');
    await click(stack, client, offline, COLLECT, USERS.requester);
    const offlineFollowUp = await followUpCard(stack, offline);
    const offlineCard = await waitForFinalCard(stack, offlineFollowUp.activity.id, /Not pre-approved/);
    expect(cardText(offlineCard)).toContain(
      'Not pre-approved: Defender lists fu-06.contoso.local as Inactive now.',
    );
    expect(cardText(offlineCard)).toMatch(/Defender lists this device as Inactive/);
    expect(actionsOf(stack, ownFollowUp.requestId)).toHaveLength(0);
    expect(actionsOf(stack, offlineFollowUp.requestId)).toHaveLength(0);
  });
});
