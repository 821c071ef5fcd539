// The bot dies after Teams took the approval card and before it recorded the card's activity id. Teams has no
// idempotency key and no way to find that message again, so the card can never be updated: after a restart the
// reconciler withdraws the undecided request (nothing ran) and posts a fresh card saying so, recorded this time; a
// click on the lost card answers with the current state and runs nothing. The bot runs as a child process told by a
// test-only variable to SIGKILL itself right after the card is sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestStore } from '../core/request-store.js';
import type { ProcessStack } from './support/bot-process.js';
import { cardText, requestIdOf, teamsClientFor } from './support/flow-helpers.js';
import { armCrashBefore, restartAfterCrash, startCrashStack, until } from './support/process-steps.js';
import { MACHINE_IDS, runCallsFor } from './support/request-steps.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

let stack: ProcessStack;
let requests: RequestStore;

beforeAll(async () => {
  ({ stack, requests } = await startCrashStack({ CARD_SEND_GRACE: '3s' }));
});
afterAll(async () => {
  await stack?.close();
});

describe('an approval card sent but never recorded', () => {
  it('is withdrawn after a restart with a fresh card in the thread, and a click on the lost card runs nothing', async () => {
    await armCrashBefore(stack, 'cardSent');
    const client = teamsClientFor(stack);
    const thread = channelThread();
    await client
      .sendMessage({ conversation: thread, from: USERS.requester, text: 'run whoami.ps1 on desktop-test' })
      .catch(() => undefined);
    await until(stack, 'the bot to die after sending the card', () => !stack.bot.running);
    const [lost] = stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a));
    expect(lost).toBeDefined();
    const requestId = requestIdOf(stack.teams.findCard(lost));
    const unrecorded = await requests.get(requestId);
    expect(unrecorded?.state).toBe('AwaitingApproval');
    expect(unrecorded?.card).toBeUndefined();

    await restartAfterCrash(stack);
    // The send's grace (CARD_SEND_GRACE from the request) passes first: a turn still sending is never raced.
    const fresh = await until(
      stack,
      'a fresh card in the thread',
      () => stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a))[1],
      60_000,
    );
    const text = cardText(stack.teams.findCard(fresh));
    expect(text).toMatch(/Cancelled/);
    expect(text).toContain('its approval card was lost in a restart');
    expect(text).toContain('Nothing ran on the device. Ask again if it is still needed.');
    // The fresh card is posted first and recorded right after: wait for the record, not only for Teams.
    const withdrawn = await until(stack, 'the fresh card recorded on the request', async () => {
      const current = await requests.get(requestId);
      return current?.card?.activityId === fresh.id ? current : undefined;
    });
    expect(withdrawn.state).toBe('Cancelled');
    const trail = await requests.auditTrail(requestId);
    expect(trail.find((e) => e.action === 'cancel')?.detail).toMatch(/^withdrawn: the bot stopped/);

    // An approver who still sees the lost card clicks Approve: their view shows the end, nothing runs.
    const click = await client.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: lost!.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    expect(click.status).toBe(200);
    expect(cardText(click.card)).toMatch(/Cancelled/);
    expect((await requests.get(requestId))?.state).toBe('Cancelled');
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(0);
    // One fresh card, not one per reconciler run.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(2);
  }, 120_000);
});
