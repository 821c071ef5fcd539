// Approvers who are on call now: APPROVERS entries that name an Entra group, a Teams tag or a Shifts scheduling group,
// resolved through the local Microsoft Graph simulator over HTTP, checked again at every click, snapshotted in the
// audit trail, escalated to the next tier when nobody decides; the bot runs whole against real Redis.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphSimulator } from '../simulator/graph-simulator.js';
import { auditTrail, runLiveResponseAttempts, say } from './support/chat-helpers.js';
import type { AdaptiveCardJson, PostedActivity } from './support/fake-teams-connector.js';
import { askFor, cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { graphApproverEnv, schedule, startGraphWithUsers } from './support/graph-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { InvokeResult, TeamsClient } from './support/teams-client.js';
import {
  type ChannelConversation,
  channelThread,
  TEAM,
  type TeamsUser,
  USERS,
} from './support/teams-fixtures.js';

const HOUR = 3_600_000;
/** Someone Graph knows who is not in the Teams conversation (so the card can name but not mention them). */
const JO = {
  id: '7a1c3e5f-9b2d-4f6a-8c0e-1d3f5a7b9c2e',
  displayName: 'Jo Faraway',
  userPrincipalName: 'jo@contoso.com',
};

let stack: Stack;
let client: TeamsClient;
let graph: GraphSimulator;

beforeAll(async () => {
  // Two items per page, so every look-up of more than two follows @odata.nextLink.
  graph = await startGraphWithUsers({ pageSize: 2 });
  graph.addUser(JO);
  stack = await startStack();
  client = teamsClientFor(stack);
});

afterAll(async () => {
  await stack?.close();
  await graph?.close();
});

/** Restarts the bot with these approver settings, against the Graph simulator. */
async function useApprovers(env: Record<string, string>): Promise<void> {
  await stack.stopBot();
  await stack.startBot({ ...graphApproverEnv(graph), ...env });
  client = teamsClientFor(stack);
}

interface Asked {
  thread: ChannelConversation;
  activity: PostedActivity;
  card: AdaptiveCardJson;
  requestId: string;
}

async function ask(device = 'desktop-test'): Promise<Asked> {
  const thread = channelThread();
  return { thread, ...(await askFor(stack, client, thread, USERS.requester, `run whoami.ps1 on ${device}`)) };
}

function click(asked: Asked, from: TeamsUser, verb: 'lr.approve' | 'lr.reject'): Promise<InvokeResult> {
  return client.invokeAction({
    conversation: asked.thread,
    from,
    replyToId: asked.activity.id,
    verb,
    data: { requestId: asked.requestId },
  });
}

function refusalOf(result: InvokeResult): string {
  expect(result.status).toBe(200);
  expect(stack.teams.findAction(result.card, 'Approve')).toBeUndefined();
  return cardText(result.card);
}

function mentionedIds(card: AdaptiveCardJson): string[] {
  const entities =
    (card.msteams as { entities?: { mentioned: { id: string } }[] } | undefined)?.entities ?? [];
  return entities.map((e) => e.mentioned.id).sort();
}

describe('group: approvers', () => {
  it("resolves a group's transitive members across pages, names them on the card and lets only them decide", async () => {
    const inner = randomUUID();
    const outer = randomUUID();
    graph.addGroup({ id: inner, displayName: 'SOC leads', members: [USERS.approver.aadObjectId, JO.id] });
    graph.addGroup({ id: outer, displayName: 'SOC', members: [inner, USERS.secondApprover.aadObjectId] });
    await useApprovers({ APPROVERS: `group:${outer}` });

    const asked = await ask();
    const text = cardText(asked.card);
    expect(text).toMatch(new RegExp(`On call \\(group:${outer}\\): .*Alex Lead`));
    expect(text).toContain('Sam Oncall');
    expect(text).toContain('Jo Faraway');
    // Alex and Sam are in the channel and mentioned; Jo is not a member, so named but not mentioned.
    expect(mentionedIds(asked.card)).toEqual([USERS.approver.id, USERS.secondApprover.id].sort());
    const pages = graph.calls().filter((c) => c.path.includes(`/groups/${outer}/transitiveMembers`));
    expect(pages).toHaveLength(2);
    expect(decodeURIComponent(pages[1]!.query)).toContain('$skiptoken=');

    const refused = refusalOf(await click(asked, USERS.outsider, 'lr.approve'));
    expect(refused).toContain(`Only the on-call approvers can decide on ${asked.requestId}`);

    const approved = await click(asked, USERS.approver, 'lr.approve');
    expect(cardText(approved.card)).toMatch(/Approved by Alex Lead/);
    const trail = await auditTrail(stack, asked.requestId);
    expect(trail.find((e) => e.action === 'requested')?.detail).toContain(
      `On call (group:${outer}): Alex Lead, Jo Faraway, Sam Oncall`,
    );
    expect(trail.find((e) => e.action === 'approved')?.detail).toBe(`on call now via group:${outer}`);
  });
});

describe('tag: approvers', () => {
  it("resolves the members of a tag of the request's team", async () => {
    const name = `oncall-${randomUUID().slice(0, 8)}`;
    graph.addTag(TEAM.aadGroupId, {
      id: `tag-${name}`,
      displayName: name,
      userIds: [USERS.secondApprover.aadObjectId],
    });
    await useApprovers({ APPROVERS: `tag:${name.toUpperCase()}` });

    const asked = await ask();
    expect(cardText(asked.card)).toContain(`On call (tag:${name.toUpperCase()}): Sam Oncall`);
    expect(mentionedIds(asked.card)).toEqual([USERS.secondApprover.id]);

    // A second request within ON_CALL_CACHE is answered from Redis; every click asks Graph again.
    const tagCalls = () => graph.calls().filter((c) => c.path.endsWith('/tags')).length;
    const afterFirst = tagCalls();
    const second = await ask('desktop-test2');
    expect(cardText(second.card)).toContain(`On call (tag:${name.toUpperCase()}): Sam Oncall`);
    expect(tagCalls()).toBe(afterFirst);

    const refused = refusalOf(await click(asked, USERS.approver, 'lr.approve'));
    expect(refused).toContain('Only the on-call approvers');
    expect(tagCalls()).toBe(afterFirst + 1);
    const approved = await click(asked, USERS.secondApprover, 'lr.approve');
    expect(cardText(approved.card)).toMatch(/Approved by Sam Oncall/);
    expect(tagCalls()).toBe(afterFirst + 2);
  });
});

describe('shifts: approvers', () => {
  it('asks whoever has a shift now, sending MS-APP-ACTS-AS, and refuses someone whose shift ended before the click', async () => {
    const name = `SOC Tier 1 ${randomUUID().slice(0, 6)}`;
    const shifts = schedule(graph, name, [
      [USERS.approver, -HOUR, HOUR],
      [USERS.secondApprover, -3 * HOUR, -HOUR],
      [USERS.outsider, 20 * HOUR, 28 * HOUR],
    ]);
    await useApprovers({ APPROVERS: `shifts:${name}` });

    const asked = await ask();
    expect(cardText(asked.card)).toContain(`On call (shifts:${name}): Alex Lead`);
    expect(cardText(asked.card)).not.toContain('Sam Oncall');
    const shiftCalls = graph.calls().filter((c) => c.path.endsWith('/schedule/shifts'));
    expect(shiftCalls.at(-1)?.actsAs).toBe(USERS.requester.aadObjectId);

    // Alex's shift ends and Sam's starts between the card and the click.
    graph.updateShift(TEAM.aadGroupId, shifts[USERS.approver.id]!, {
      start: new Date(Date.now() - HOUR).toISOString(),
      end: new Date(Date.now() - 1_000).toISOString(),
    });
    graph.updateShift(TEAM.aadGroupId, shifts[USERS.secondApprover.id]!, {
      start: new Date(Date.now() - 1_000).toISOString(),
      end: new Date(Date.now() + HOUR).toISOString(),
    });
    const attempts = runLiveResponseAttempts(stack);
    const refused = refusalOf(await click(asked, USERS.approver, 'lr.approve'));
    expect(refused).toContain(`You are no longer on call (shifts:${name})`);
    expect(refused).toContain('on call now: Sam Oncall');
    expect(runLiveResponseAttempts(stack)).toBe(attempts);
    const refusals = (await auditTrail(stack, asked.requestId)).filter((e) => e.action === 'refused');
    expect(refusals.map((e) => e.detail)).toEqual([expect.stringContaining('You are no longer on call')]);

    const approved = await click(asked, USERS.secondApprover, 'lr.approve');
    expect(cardText(approved.card)).toMatch(/Approved by Sam Oncall/);
  });

  it('refuses the request before any card when nobody is on call', async () => {
    const name = `Night ${randomUUID().slice(0, 6)}`;
    schedule(graph, name, [[USERS.approver, 10 * HOUR, 18 * HOUR]]);
    await useApprovers({ APPROVERS: `shifts:${name}` });
    const thread = channelThread();
    // Device and library look-ups are what a request asks of Defender (other requests' polls may run meanwhile).
    const lookups = () => stack.sim.control.calls({ path: /^\/api\/(machines|libraryfiles)/ }).length;
    const before = lookups();

    const { replies, cards } = await say(
      stack,
      client,
      thread,
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    expect(cards).toBe(0);
    expect(replies).toEqual([
      expect.stringContaining(
        `Nothing was requested. Nobody is on call to approve it right now: shifts:${name} gave nobody`,
      ),
    ]);
    // Nothing was asked of Defender either.
    expect(lookups()).toBe(before);
  });
});

describe('escalation', () => {
  it('mentions the next tier after ESCALATE_AFTER without a decision, and that tier may then approve', async () => {
    const name = `SOC Tier 1 ${randomUUID().slice(0, 6)}`;
    schedule(graph, name, [[USERS.approver, -HOUR, HOUR]]);
    const tag = `tier2-${randomUUID().slice(0, 8)}`;
    graph.addTag(TEAM.aadGroupId, {
      id: `tag-${tag}`,
      displayName: tag,
      userIds: [USERS.secondApprover.aadObjectId],
    });
    await useApprovers({
      APPROVERS: `shifts:${name}`,
      APPROVERS_ESCALATION: `tag:${tag}`,
      ESCALATE_AFTER: '2s',
    });

    const asked = await ask();
    expect(mentionedIds(asked.card)).toEqual([USERS.approver.id]);
    // Before escalation tier 2 may not decide.
    expect(refusalOf(await click(asked, USERS.secondApprover, 'lr.approve'))).toContain(
      'Only the on-call approvers',
    );

    const escalated = await waitForCard(stack, asked.activity.id, /Escalated/);
    expect(cardText(escalated)).toContain(`On call (tag:${tag}): Sam Oncall`);
    expect(mentionedIds(escalated)).toEqual([USERS.approver.id, USERS.secondApprover.id].sort());

    const approved = await click(asked, USERS.secondApprover, 'lr.approve');
    expect(cardText(approved.card)).toMatch(/Approved by Sam Oncall/);
    const trail = await auditTrail(stack, asked.requestId);
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining(['requested', 'escalated', 'approved']),
    );
    expect(trail.find((e) => e.action === 'escalated')?.detail).toContain(`On call (tag:${tag}): Sam Oncall`);
    expect(trail.find((e) => e.action === 'approved')?.detail).toBe(`on call now via tag:${tag}`);
  });
});

describe('Graph throttling', () => {
  it("waits Graph's Retry-After and goes on", async () => {
    const group = randomUUID();
    graph.addGroup({ id: group, displayName: 'Leads', members: [USERS.approver.aadObjectId] });
    await useApprovers({ APPROVERS: `group:${group}` });
    graph.throttleNext(1, 1);

    const asked = await ask();
    expect(cardText(asked.card)).toContain(`On call (group:${group}): Alex Lead`);
    const calls = graph.calls().filter((c) => c.path.includes(group));
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
  });

  it('refuses the request, saying so, when Graph asks for a longer wait than a Teams turn allows', async () => {
    const group = randomUUID();
    graph.addGroup({ id: group, displayName: 'Leads', members: [USERS.approver.aadObjectId] });
    await useApprovers({ APPROVERS: `group:${group}` });
    graph.throttleNext(1, 120);

    const { replies, cards } = await say(
      stack,
      client,
      channelThread(),
      USERS.requester,
      'run whoami.ps1 on desktop-test',
    );
    expect(cards).toBe(0);
    expect(replies).toEqual([expect.stringContaining('Microsoft Graph is throttling the bot')]);
    expect(replies[0]).toContain('120 s');
    // One call, no retry: Graph asked for longer than the look-up may wait.
    expect(
      graph
        .calls()
        .filter((c) => c.path.includes(group))
        .map((c) => c.status),
    ).toEqual([429]);
  });

  it('tells the requester an admin must grant the Graph permission when Graph refuses the look-up', async () => {
    const group = randomUUID();
    graph.addGroup({ id: group, displayName: 'Leads', members: [USERS.approver.aadObjectId] });
    await useApprovers({ APPROVERS: `group:${group}` });
    graph.setGrantedRoles(['TeamworkTag.Read.All', 'Schedule.Read.All']);
    try {
      const { replies, cards } = await say(
        stack,
        client,
        channelThread(),
        USERS.requester,
        'run whoami.ps1 on desktop-test',
      );
      expect(cards).toBe(0);
      expect(replies).toEqual([
        expect.stringContaining(
          'may not read who is on call in Microsoft Graph (Authorization_RequestDenied)',
        ),
      ]);
    } finally {
      graph.setGrantedRoles(['GroupMember.Read.All', 'TeamworkTag.Read.All', 'Schedule.Read.All']);
    }
  });
});
