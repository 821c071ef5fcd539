// The request after approval, as the people in the thread drive it: cancel from the card (also when the action
// finishes at the same moment), approval cards that expire, and fresh download links minted without running again.
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../core/redis-keys.js';
import { cardText, runLiveResponseCalls, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  cardVersions,
  click,
  currentCard,
  downloadPaths,
  expectCardsSafe,
  linkIds,
  ROOMY_API_RATE,
  sleep,
  waitForFinalCard,
} from './support/request-steps.js';
import { SIM_SPEED, type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { USERS } from './support/teams-fixtures.js';

describe('after approval', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE } });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    stack.sim.control.clearFaults();
    stack.sim.control.setSpeed(SIM_SPEED);
  });

  const cancelCalls = () => stack.sim.control.calls({ method: 'POST', path: /\/cancel$/ });

  it('cancels a request pending on an offline device from the card, asking Defender once', async () => {
    const request = await askAndApprove(stack, client, 'run minidump.ps1 OfficeClickToRun on laptop-offline');
    await waitForCard(stack, request.activity.id, /Pending on the device/);

    const clicked = await click(stack, client, request, 'Cancel', USERS.requester);
    expect(cardText(clicked.card)).toMatch(
      /Cancellation requested by Riley Analyst|Cancelled by Riley Analyst/,
    );

    const card = await waitForFinalCard(stack, request.activity.id, /Cancelled by Riley Analyst/);
    const text = cardText(card);
    expect(text).toContain('Cancelled');
    expect(text).toContain('Not run');
    expect(text).not.toMatch(/waiting for Defender/);
    expect(cancelCalls()).toHaveLength(1);
    const [action] = actionsOf(stack, request.requestId);
    expect(action?.status).toBe('Cancelled');
    expect(action?.cancellationComment).toContain(`[lr:${request.requestId}]`);
    expect(runLiveResponseCalls(stack)).toBe(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('shows how the action really ended when a cancel reaches Defender after it finished', async () => {
    const before = cancelCalls().length;
    const request = await askAndApprove(stack, client, 'run minidump.ps1 OfficeClickToRun on desktop-test');
    await waitForCard(stack, request.activity.id, /Running on the device/);
    // Simulated time stands almost still until the cancel is on its way; then the script finishes, and Defender
    // handles the cancel only after the action succeeded.
    stack.sim.control.setSpeed(1);
    stack.sim.control.injectFault({ method: 'POST', path: /\/cancel$/, kind: 'hang', delayMs: 1_000 });
    await click(stack, client, request, 'Cancel', USERS.approver);
    await stack.teams.waitFor(() => cancelCalls().length > before, {
      description: 'the cancel to reach Defender',
    });
    stack.sim.control.advance(60_000);
    stack.sim.control.setSpeed(SIM_SPEED);

    await stack.teams.waitFor(() => cancelCalls().filter((c) => c.status !== null).length > before, {
      description: 'Defender to answer the late cancel',
    });
    expect(cancelCalls().at(-1)?.status).toBe(400);
    const card = await waitForFinalCard(
      stack,
      request.activity.id,
      /Succeeded/,
      (t) => /Exit code 0/.test(t) && !/waiting for Defender/.test(t),
    );
    const text = cardText(card);
    expect(text).toContain('OfficeClickToRun.dmp.zip');
    expect(text).not.toMatch(/Cancelled by/);
    expect(text).toMatch(/Too late to cancel \(asked by Alex Lead\)/);
    expect(actionsOf(stack, request.requestId).map((a) => a.status)).toEqual(['Succeeded']);
    expectCardsSafe(stack, request.activity.id);
  });

  it("gives fresh download links without running anything or spending API budget; a link mints Defender's URL when first opened; old links work until the expiry their card showed", async () => {
    const request = await askAndApprove(
      stack,
      client,
      'run whoami.ps1 then getfile C:\\windows\\TEMP\\evidence.zip on desktop-test2',
    );
    const done = await waitForFinalCard(
      stack,
      request.activity.id,
      /Succeeded/,
      (t) => (t.match(/Link expires/g) ?? []).length === 2,
    );
    const oldIds = linkIds(done);
    const oldPaths = downloadPaths(done);
    expect(oldIds).toHaveLength(2);
    const linkCalls = () =>
      stack.sim.control.calls({ method: 'GET', path: /GetLiveResponseResultDownloadLink/ }).length;
    const runsBefore = runLiveResponseCalls(stack);
    const mintedBefore = linkCalls();

    await click(stack, client, request, 'Get fresh link', USERS.requester);
    const fresh = await stack.teams.waitFor(
      () => {
        const card = currentCard(stack, request.activity.id);
        const ids = linkIds(card);
        return ids.length === 2 &&
          ids.every((id) => !oldIds.includes(id)) &&
          !/Fetching fresh/.test(cardText(card))
          ? card
          : undefined;
      },
      { description: 'two new link ids on the card' },
    );
    expect(linkCalls() - mintedBefore).toBe(0);
    expect(runLiveResponseCalls(stack)).toBe(runsBefore);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expect(cardText(fresh)).toContain('Succeeded');

    // The old card said its links expire later than now: they still deliver the file, not 410.
    expect(cardText(done)).toMatch(/Link expires \d\d:\d\d UTC/);
    const old = await fetch(`${stack.botUrl}${oldPaths[1]}`);
    expect(old.status).toBe(200);
    expect(gunzipSync(Buffer.from(await old.arrayBuffer())).toString('utf8')).toContain('evidence.zip');
    const oldTranscript = await fetch(`${stack.botUrl}${oldPaths[0]}`);
    expect(oldTranscript.status).toBe(200);
    // A link id from another command or request opens nothing.
    const swapped = oldPaths[0]!.replace(/\/0\//, '/1/');
    expect((await fetch(`${stack.botUrl}${swapped}`)).status).toBe(410);
    // The fresh link: Defender is asked once when it is first opened, and not again the second time.
    const minted = linkCalls();
    const current = await fetch(`${stack.botUrl}${downloadPaths(fresh)[1]}`);
    expect(current.status).toBe(200);
    await current.arrayBuffer();
    expect(linkCalls() - minted).toBe(1);
    const again = await fetch(`${stack.botUrl}${downloadPaths(fresh)[1]}`);
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    expect(linkCalls() - minted).toBe(1);
    expectCardsSafe(stack, request.activity.id);
  });
});

describe('approval deadline', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    stack = await startStack({ env: { APPROVAL_TIMEOUT: '1s', DEFENDER_API_RATE: ROOMY_API_RATE } });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('expires an undecided card, refuses a later approval and sends nothing to Defender', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    const expired = await waitForCard(stack, request.activity.id, /Expired/);
    expect(stack.teams.findAction(expired, 'Approve')).toBeUndefined();

    const late = await approve(client, request);
    expect(cardText(late)).not.toMatch(/Approved by/);
    expect(cardText(late)).toMatch(/Expired|expired/);
    await sleep(500); // a submission would have happened by now (the poll interval is 250 ms)
    expect(runLiveResponseCalls(stack)).toBe(0);
    expect(cardText(currentCard(stack, request.activity.id))).toMatch(/Expired/);
    expect(cardVersions(stack, request.activity.id).some((c) => /Approved by/.test(cardText(c)))).toBe(false);
    const trail = await stack.redis.lrange(redisKeys(stack.prefix).requestAudit(request.requestId), 0, -1);
    expect(trail.map((e) => (JSON.parse(e) as { action: string }).action)).toEqual(
      expect.arrayContaining(['expired', 'refused']),
    );
  });
});
