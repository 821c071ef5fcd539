// On-call approvers in the Teams tab: APPROVERS entries resolved through Microsoft Graph (the local Graph simulator
// over HTTP) decide from the tab with the card's rules: a group member sees what waits for them and approves, someone
// whose shift ended is refused with the card's reason. Real Redis, the Defender simulator, fake Teams, Entra simulator.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphSimulator } from '../simulator/graph-simulator.js';
import {
  askFor,
  cardText,
  runLiveResponseCalls,
  teamsClientFor,
  waitForCard,
} from './support/flow-helpers.js';
import { graphApproverEnv, schedule, startGraphWithUsers } from './support/graph-steps.js';
import { startTabStack, type TabStack } from './support/tab-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, GROUP_CHAT, TEAM, USERS } from './support/teams-fixtures.js';

const HOUR = 3_600_000;

let stack: TabStack;
let client: TeamsClient;
let graph: GraphSimulator;

beforeAll(async () => {
  graph = await startGraphWithUsers();
  stack = await startTabStack();
});
afterAll(async () => {
  await stack?.close();
  await graph?.close();
});

/** Restarts the bot with these approvers, resolved against the Graph simulator. */
async function useApprovers(approvers: string): Promise<void> {
  await stack.stopBot();
  await stack.startBot({ ...graphApproverEnv(graph), APPROVERS: approvers });
  client = teamsClientFor(stack);
}

const ids = (rows: unknown) => ((rows ?? []) as Array<{ id: string }>).map((r) => r.id);

describe('on-call approvers in the tab', () => {
  it('shows a group member what waits for their approval, even outside the conversation, and lets them approve it', async () => {
    const group = randomUUID();
    // Morgan is on call through the group only: not a listed person, not in the group chat (Sam, on call too, is).
    graph.addGroup({
      id: group,
      displayName: 'SOC on call',
      members: [USERS.outsider.aadObjectId, USERS.secondApprover.aadObjectId],
    });
    await useApprovers(`group:${group}`);

    const { activity, card, requestId } = await askFor(
      stack,
      client,
      GROUP_CHAT,
      USERS.requester,
      'run collect.ps1 on desktop-test',
    );
    expect(cardText(card)).toContain(`On call (group:${group}): Morgan Helpdesk, Sam Oncall`);
    const morgan = await stack.tokenFor(USERS.outsider);
    const lists = await stack.api('GET', '/tab/api/my-requests', morgan);
    expect(ids(lists.body.awaitingMyApproval)).toContain(requestId);
    const detail = await stack.api('GET', `/tab/api/requests/${requestId}`, morgan);
    expect(detail.status).toBe(200);
    expect(detail.body.canDecide).toBe(true);
    // Alex is in the chat but not on call: he sees the request, nothing waits for him, and he may not decide.
    const alex = await stack.tokenFor(USERS.approver);
    expect(ids((await stack.api('GET', '/tab/api/my-requests', alex)).body.awaitingMyApproval)).not.toContain(
      requestId,
    );
    expect((await stack.api('GET', `/tab/api/requests/${requestId}`, alex)).body.canDecide).toBe(false);

    const approved = await stack.api('POST', `/tab/api/requests/${requestId}/decision`, morgan, {
      decision: 'approve',
    });
    expect(approved.status).toBe(200);
    await waitForCard(stack, activity.id, /Approved by Morgan Helpdesk/);
    await waitForCard(stack, activity.id, /Succeeded/);
    expect(runLiveResponseCalls(stack)).toBeGreaterThan(0);
    const trail = (await stack.api('GET', `/tab/api/requests/${requestId}`, morgan)).body.trail as Array<{
      action: string;
      by?: string;
      detail?: string;
    }>;
    expect(trail.find((e) => e.action === 'approved')).toMatchObject({
      by: 'Morgan Helpdesk',
      detail: `on call now via group:${group}`,
    });
  });

  it("refuses someone whose shift ended with the card's reason, and lets whoever is on call now approve", async () => {
    const name = `SOC Tier 1 ${randomUUID().slice(0, 6)}`;
    const shifts = schedule(graph, name, [
      [USERS.approver, -HOUR, HOUR],
      [USERS.secondApprover, -3 * HOUR, -HOUR],
    ]);
    await useApprovers(`shifts:${name}`);
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run collect.ps1 on desktop-test',
    );
    const alex = await stack.tokenFor(USERS.approver);
    expect(ids((await stack.api('GET', '/tab/api/my-requests', alex)).body.awaitingMyApproval)).toContain(
      requestId,
    );

    // Alex's shift ends and Sam's starts between the card and the click.
    graph.updateShift(TEAM.aadGroupId, shifts[USERS.approver.id]!, {
      start: new Date(Date.now() - HOUR).toISOString(),
      end: new Date(Date.now() - 1_000).toISOString(),
    });
    graph.updateShift(TEAM.aadGroupId, shifts[USERS.secondApprover.id]!, {
      start: new Date(Date.now() - 1_000).toISOString(),
      end: new Date(Date.now() + HOUR).toISOString(),
    });
    const path = `/tab/api/requests/${requestId}/decision`;
    const runs = runLiveResponseCalls(stack);
    const refused = await stack.api('POST', path, alex, { decision: 'approve' });
    expect(refused.status).toBe(409);
    const reason = String(refused.body.error);
    expect(reason).toContain(`You are no longer on call (shifts:${name})`);
    expect(reason).toContain('on call now: Sam Oncall');
    // The card says the same to the same click.
    const onCard = await client.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(cardText(onCard.card)).toContain(reason);
    expect(runLiveResponseCalls(stack)).toBe(runs);

    const sam = await stack.tokenFor(USERS.secondApprover);
    const approved = await stack.api('POST', path, sam, { decision: 'approve' });
    expect(approved.status).toBe(200);
    await waitForCard(stack, activity.id, /Approved by Sam Oncall/);
  });
});
