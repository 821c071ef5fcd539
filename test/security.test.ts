// Security promises users and operators rely on: secrets never reach logs or cards, and with a bot app id set
// /api/messages refuses anything the Bot Framework did not sign — even when Microsoft's keys cannot be fetched.
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  askFor,
  cardText,
  runLiveResponseCalls,
  teamsClientFor,
  waitForCard,
} from './support/flow-helpers.js';
import { MSAL_APP, MSAL_ENV, MSAL_SIM, msalSignIn } from './support/msal-stack.js';
import { currentCard, downloadPaths } from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const { accessToken: ACCESS_TOKEN, clientSecret: CLIENT_SECRET } = MSAL_APP;

const stacks: Stack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

describe('secrets', () => {
  it('never writes the access token, the client secret or a link signature to a log line or a card', async () => {
    const lines: string[] = [];
    const logSink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const stack = await startStack({
      env: { LOG_LEVEL: 'trace', ...MSAL_ENV },
      sim: MSAL_SIM,
      logSink,
      // Real MSAL with the client secret, its sign-in routed to the simulator's token endpoint.
      defenderTokens: msalSignIn,
    });
    stacks.push(stack);
    const client = teamsClientFor(stack);
    const thread = channelThread();
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test',
    );
    await client.invokeAction({
      conversation: thread,
      from: USERS.approver,
      replyToId: activity.id,
      verb: 'lr.approve',
      data: { requestId },
    });
    await waitForCard(stack, activity.id, /Succeeded/);
    // The results (and their links) may reach the card in an update after the one that says Succeeded.
    const final = await stack.teams.waitFor(
      () => {
        const card = currentCard(stack, activity.id);
        return downloadPaths(card).length === 2 ? card : undefined;
      },
      { description: 'both download links on the final card' },
    );
    expect(runLiveResponseCalls(stack)).toBe(1);

    // Fresh links, then follow every link as a browser would: the redirects carry Defender's signed URLs, minted
    // for the transcript when the bot read it and for the collected file when its link was opened.
    const before = downloadPaths(final);
    const signatures: string[] = [];
    // The bot streams each file itself: the browser gets the bytes, never the signed URL; the signatures are taken
    // from what the bot presented to Defender's storage.
    const follow = async (path: string) => {
      const response = await fetch(`${stack.botUrl}${path}`, { redirect: 'manual' });
      expect(response.status).toBe(200);
      expect(JSON.stringify([...response.headers])).not.toMatch(/sig=/);
      await response.arrayBuffer();
      const read = stack.sim.control.calls({ method: 'GET', path: /^\/blob\// }).at(-1);
      signatures.push(read?.query.sig ?? '');
    };
    await follow(before[0]!);
    await client.invokeAction({
      conversation: thread,
      from: USERS.requester,
      replyToId: activity.id,
      verb: 'lr.freshLinks',
      data: { requestId },
    });
    const fresh = await stack.teams.waitFor(
      () => {
        const paths = downloadPaths(currentCard(stack, activity.id));
        return paths.length === 2 && paths.every((p) => !before.includes(p)) ? paths : undefined;
      },
      { description: 'fresh links on the card' },
    );
    for (const path of fresh) await follow(path);
    expect(signatures.every(Boolean)).toBe(true);
    expect(stack.sim.control.calls({ path: /GetLiveResponseResultDownloadLink/ }).length).toBe(3);

    const cards = stack.teams.history(activity.id).map((v) => JSON.stringify(v));
    const everything = [...lines, ...cards].join('\n');
    expect(lines.length).toBeGreaterThan(20);
    expect(everything).not.toContain(ACCESS_TOKEN);
    expect(everything).not.toContain(CLIENT_SECRET);
    for (const signature of signatures) expect(everything).not.toContain(signature);
    expect(everything).not.toMatch(/[?&]sig=/);
    expect(cardText(final)).toContain('Download result');
  });
});

describe('Bot Framework authentication', () => {
  it('refuses unsigned and forged messages when MicrosoftAppId is set, and does nothing with them', async () => {
    const stack = await startStack({
      env: {
        MicrosoftAppId: '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f',
        MicrosoftAppPassword: 'bot-password',
        MicrosoftAppTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
      },
    });
    stacks.push(stack);
    const client = teamsClientFor(stack);
    const thread = channelThread();
    const message = client.buildMessage({ conversation: thread, from: USERS.requester, text: 'help' });
    const post = (authorization?: string) =>
      fetch(`${stack.botUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(message),
      });

    const unsigned = await post();
    expect(unsigned.status).toBe(401);
    // A token the bot cannot verify (here Microsoft's signing keys are out of reach): refused, not let through.
    const forged = await post(
      'Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZha2UifQ.eyJhdWQiOiI4ZjJjMWQ0ZSJ9.c2lnbmF0dXJl',
    );
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(600);
    expect(stack.teams.activities(thread.id)).toHaveLength(0);
    expect(stack.sim.control.calls()).toHaveLength(0);
  });
});
