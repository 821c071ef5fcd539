// An escalation's card update is an effect like any other: the bot killed right after writing the escalation, before
// the card job is queued, comes back and the reconciler brings the open card up to date (the next tier mentioned),
// where before nothing did. The bot runs as a child process told by a test-only variable to SIGKILL itself after the
// first write whose effects include a card update — the escalation (posting the card is not one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestStore } from '../core/request-store.js';
import type { ProcessStack } from './support/bot-process.js';
import { cardText, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { armCrashBefore, restartAfterCrash, startCrashStack, until } from './support/process-steps.js';
import { ask } from './support/request-steps.js';
import { USERS } from './support/teams-fixtures.js';

let stack: ProcessStack;
let requests: RequestStore;

beforeAll(async () => {
  ({ stack, requests } = await startCrashStack({
    // Alex by Entra object id; Sam (by UPN) is the next tier, asked after ESCALATE_AFTER.
    APPROVERS: USERS.approver.aadObjectId,
    APPROVERS_ESCALATION: USERS.secondApprover.userPrincipalName,
    ESCALATE_AFTER: '2s',
  }));
});
afterAll(async () => {
  await stack?.close();
});

describe('an escalation whose card update was lost', () => {
  it('is shown on the open card after a restart, put back by the reconciler', async () => {
    await armCrashBefore(stack, 'updateCard');
    const request = await ask(stack, teamsClientFor(stack), 'run whoami.ps1 on desktop-test');
    expect(cardText(stack.teams.findCard(request.activity))).not.toMatch(/Escalated/);

    await until(stack, 'the bot to die after writing the escalation', () => !stack.bot.running);
    const escalated = await requests.get(request.requestId);
    expect(escalated?.state).toBe('AwaitingApproval');
    expect(escalated?.escalatedAt).toBeDefined();
    expect(cardText(stack.teams.findCard(stack.teams.history(request.activity.id).at(-1)))).not.toMatch(
      /Escalated/,
    );

    await restartAfterCrash(stack);
    const card = await waitForCard(stack, request.activity.id, /Escalated/);
    expect(cardText(card)).toContain('Sam Oncall');
    expect(stack.bot.output()).toMatch(/"repairs":\["card"\][^\n]*"reconciler repaired a request"/);
    // Still the one card, still open for a decision.
    expect(stack.teams.activities(request.thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(1);
    expect((await requests.get(request.requestId))?.state).toBe('AwaitingApproval');
  }, 60_000);
});
