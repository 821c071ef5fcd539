// The core flow end to end: Teams message → pre-flight → approval card → approval → BullMQ submission →
// polling → the same card updated in place → transcript summary and download links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  askFor,
  cardText,
  runLiveResponseCalls,
  teamsClientFor,
  waitForCard,
} from './support/flow-helpers.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: Stack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startStack();
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('approval-gated live response', () => {
  it('runs an approved sequence once and finishes the same card with transcript and links', async () => {
    const thread = channelThread();
    const { activity, card, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test because suspicious Office child process',
    );
    expect(cardText(card)).toContain('desktop-test.contoso.local');
    expect(cardText(card)).toContain('Riley Analyst');
    expect(stack.teams.findAction(card, 'Approve')).toBeDefined();
    expect(runLiveResponseCalls(stack)).toBe(0);

    const click = await client.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(click.status).toBe(200);
    expect(cardText(click.card)).toMatch(/Approved by Alex Lead/);

    const final = await waitForCard(stack, activity.id, /Succeeded/);
    const text = cardText(final);
    expect(text).toContain('Exit code 0');
    expect(text).toContain('OfficeClickToRun.dmp.zip');
    expect(text).not.toContain('Transcript started');
    expect(text).not.toContain('\u0000');
    expect(stack.teams.findAction(final, 'Get fresh link')).toBeDefined();
    expect(JSON.stringify(final)).not.toMatch(/sig=/);
    expect(runLiveResponseCalls(stack)).toBe(1);

    // Every state was shown in place on the one card activity.
    const states = stack.teams.history(activity.id).map((v) => cardText(stack.teams.findCard(v)));
    expect(states.some((s) => /Approved by Alex Lead/.test(s))).toBe(true);
    expect(states.some((s) => /Succeeded/.test(s))).toBe(true);

    const submitted = stack.sim.control.actions()[0]!;
    expect(submitted.requestorComment).toContain(`[lr:${requestId}]`);
    expect(submitted.commands.map((c) => c.command.type)).toEqual(['RunScript', 'GetFile']);
  });
});
