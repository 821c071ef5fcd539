// Defender and its sign-in misbehaving while requests run, end to end through Teams → approval → jobs → card:
// server errors and throttling on the poll, broken and hanging result-link calls, the token endpoint failing, and
// several approved requests for one device. Each request still ends on its final card with exactly one action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenProvider } from '../defender/token-provider.js';
import { cardText, teamsClientFor, textReplies, waitForReply } from './support/flow-helpers.js';
import { MSAL_APP, MSAL_ENV, MSAL_SIM, msalSignIn } from './support/msal-stack.js';
import {
  actionsOf,
  approve,
  ask,
  askAndApprove,
  cardVersions,
  downloadPaths,
  expectCardsSafe,
  MACHINE_IDS,
  ROOMY_API_RATE,
  runCallsFor,
  sleep,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

/** The poll: one filtered list call for every action in flight. */
const POLL_PATH = '^/api/machineactions$';

/** Calls the poll made: list calls filtered by action id. */
function pollCalls(stack: Stack) {
  return stack.sim.control
    .calls({ method: 'GET', path: new RegExp(POLL_PATH) })
    .filter((c) => (c.query.$filter ?? '').startsWith('id in'));
}

/** Waits for an asynchronous condition (Redis), like `teams.waitFor` does for synchronous ones. */
async function until(probe: () => Promise<boolean>, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await sleep(25);
  }
}

describe('Defender failing while requests run', () => {
  let stack: Stack;
  let client: TeamsClient;

  beforeAll(async () => {
    // A short timeout so a hanging Defender call is given up quickly and retried.
    stack = await startStack({ env: { DEFENDER_API_RATE: ROOMY_API_RATE, DEFENDER_TIMEOUT: '1s' } });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('reaches Succeeded with one action when the poll answers 500 and 503 a few times', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    const before = pollCalls(stack).length;
    stack.sim.control.injectFault({ method: 'GET', path: POLL_PATH, kind: 'status', status: 500, times: 2 });
    stack.sim.control.injectFault({ method: 'GET', path: POLL_PATH, kind: 'status', status: 503, times: 2 });
    await approve(client, request);

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('nt authority\\system');
    const statuses = pollCalls(stack)
      .slice(before)
      .map((c) => c.status);
    expect(statuses.slice(0, 4)).toEqual([500, 500, 503, 503]);
    expect(statuses.slice(4)).toContain(200);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expect(runCallsFor(stack, MACHINE_IDS.desktop).filter((c) => c.status === 201)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('retries a reset and a hanging result-link call, and the card ends with the transcript and both links', async () => {
    const linkPath = /GetLiveResponseResultDownloadLink/;
    const before = stack.sim.control.calls({ path: linkPath }).length;
    stack.sim.control.injectFault({ method: 'GET', path: linkPath, kind: 'reset' });
    stack.sim.control.injectFault({ method: 'GET', path: linkPath, kind: 'hang' }); // never answers
    const request = await askAndApprove(
      stack,
      client,
      'run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test',
    );

    const card = await waitForFinalCard(
      stack,
      request.activity.id,
      /Succeeded/,
      (t) => /Exit code 0/.test(t) && (t.match(/Link expires/g) ?? []).length === 2,
    );
    expect(cardText(card)).toContain('OfficeClickToRun.dmp.zip');
    expect(downloadPaths(card)).toHaveLength(2);
    const linkCalls = () => stack.sim.control.calls({ path: linkPath }).slice(before);
    expect(
      linkCalls()
        .map((c) => c.fault)
        .filter(Boolean),
    ).toEqual(['reset', 'hang']);
    // The transcript's link was minted in the end (the bot read it); the file's is minted when opened.
    const minted = (index: number) =>
      linkCalls().filter((c) => c.status === 200 && c.path.includes(`index=${index}`));
    expect(minted(0)).toHaveLength(1);
    expect(minted(1)).toHaveLength(0);
    const opened = await fetch(`${stack.botUrl}${downloadPaths(card)[1]}`, { redirect: 'manual' });
    expect(opened.status).toBe(200);
    await opened.arrayBuffer();
    expect(minted(1)).toHaveLength(1);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    expectCardsSafe(stack, request.activity.id);
  });

  it('a download link opened while Defender throttles or refuses says why and when to retry; it works later', async () => {
    const linkPath = /GetLiveResponseResultDownloadLink/;
    const request = await askAndApprove(
      stack,
      client,
      'getfile C:\\windows\\TEMP\\evidence.zip on desktop-test2',
    );
    const card = await waitForFinalCard(
      stack,
      request.activity.id,
      /Succeeded/,
      (t) => (t.match(/Link expires/g) ?? []).length === 1,
    );
    const open = () => fetch(`${stack.botUrl}${downloadPaths(card)[0]}`, { redirect: 'manual' });

    stack.sim.control.injectFault({
      method: 'GET',
      path: linkPath,
      kind: 'status',
      status: 429,
      retryAfterSeconds: 1,
    });
    const throttled = await open();
    expect(throttled.status).toBe(503);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await throttled.text()).toContain('Try this link again in');

    stack.sim.control.injectFault({ method: 'GET', path: linkPath, kind: 'status', status: 404 });
    const refused = await open();
    expect(refused.status).toBe(502);
    expect(await refused.text()).toContain('Defender did not give this result');

    const works = await open();
    expect(works.status).toBe(200);
    expect(works.headers.get('content-disposition')).toMatch(/filename="?evidence\.zip\.gz"?/);
    await works.arrayBuffer();
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
  });

  it('holds every kind of Defender call until the Retry-After of a 429 on the poll has passed, and the cards still finish', async () => {
    const first = await ask(stack, client, 'run minidump.ps1 OfficeClickToRun on desktop-test');
    const second = await ask(stack, client, 'run whoami.ps1 on desktop-test2');
    const before = pollCalls(stack).length;
    const throttledBefore = stack.sim.control.calls().filter((c) => c.status === 429).length;
    stack.sim.control.injectFault({
      method: 'GET',
      path: POLL_PATH,
      kind: 'status',
      status: 429,
      retryAfterSeconds: 2,
    });
    await approve(client, first);

    const throttled = await stack.teams.waitFor(
      () =>
        pollCalls(stack)
          .slice(before)
          .find((c) => c.status === 429),
      { description: 'the poll to be throttled' },
    );
    // Once the bot has taken the 429 in, a submission becomes due: it must wait like every other call.
    await until(
      async () => (await stack.redis.exists(`${stack.prefix}:rl:defender-api:blocked-until`)) === 1,
      'the bot to record the back-off',
    );
    await approve(client, second);

    await waitForFinalCard(stack, first.activity.id, /Succeeded/, (t) => /Exit code 0/.test(t));
    await waitForFinalCard(stack, second.activity.id, /Succeeded/, (t) => /Exit code 0/.test(t));
    const retryAt = throttled.realTime + 2_000;
    const later = stack.sim.control
      .calls({ path: /^\/api\// })
      .filter((c) => c.realTime > throttled.realTime);
    // Polls, result links and the second request's runliveresponse all came after the Retry-After.
    expect(later.some((c) => c.method === 'POST' && /runliveresponse/.test(c.path))).toBe(true);
    expect(later.some((c) => /GetLiveResponseResultDownloadLink/.test(c.path))).toBe(true);
    expect(later.filter((c) => c.realTime < retryAt)).toEqual([]);
    expect(stack.sim.control.calls().filter((c) => c.status === 429)).toHaveLength(throttledBefore + 1);
    expect(actionsOf(stack, first.requestId)).toHaveLength(1);
    expect(actionsOf(stack, second.requestId)).toHaveLength(1);
  });

  it('runs three approved requests for one device one after another, each waiting card naming the request it waits for', async () => {
    const runsBefore = runCallsFor(stack, MACHINE_IDS.desktop).length;
    const requests = [];
    for (const process of ['OfficeClickToRun', 'explorer', 'winword'])
      requests.push(await ask(stack, client, `run minidump.ps1 ${process} on desktop-test`));
    for (const request of requests) await approve(client, request);

    for (const request of requests)
      await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) => /Exit code 0/.test(t));

    const ids = requests.map((r) => r.requestId);
    const actions = ids
      .map((id) => {
        const own = actionsOf(stack, id);
        expect(own, `the actions of ${id}`).toHaveLength(1);
        return { requestId: id, ...own[0]! };
      })
      .sort((a, b) => Date.parse(a.creationDateTimeUtc) - Date.parse(b.creationDateTimeUtc));
    // Simulated time: each session started only after the one before it had ended.
    for (let i = 1; i < actions.length; i++)
      expect(Date.parse(actions[i]!.creationDateTimeUtc)).toBeGreaterThanOrEqual(
        Date.parse(actions[i - 1]!.lastUpdateDateTimeUtc!),
      );
    expect(actions.map((a) => a.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    // Defender was never asked for a second session on the busy device.
    const runs = runCallsFor(stack, MACHINE_IDS.desktop).slice(runsBefore);
    expect(runs.map((c) => c.status)).toEqual([201, 201, 201]);

    for (const request of requests) {
      const waits = cardVersions(stack, request.activity.id)
        .map((card) => /Queued: waiting for (LR-[0-9A-Z]{6}) on the same device/.exec(cardText(card))?.[1])
        .filter((id): id is string => id !== undefined);
      if (request.requestId === actions[0]!.requestId) {
        expect(waits, 'the request that ran first never waited').toEqual([]);
      } else {
        expect(waits.length, `${request.requestId} said it was waiting`).toBeGreaterThan(0);
        for (const id of waits) expect(ids.filter((other) => other !== request.requestId)).toContain(id);
      }
      expect(cardText(cardVersions(stack, request.activity.id).at(-1))).not.toMatch(/Queued:/);
      expectCardsSafe(stack, request.activity.id);
    }
  });
});

describe('the Defender sign-in failing', () => {
  const { accessToken: ACCESS_TOKEN, clientSecret: CLIENT_SECRET } = MSAL_APP;
  const TOKEN_PATH = '/oauth2/v2\\.0/token$';

  let stack: Stack;
  let client: TeamsClient;
  let signIn: TokenProvider;
  /** The bot's cached token runs out (as after an hour, or a restart): its next call must sign in again. */
  const tokenExpires = () => {
    signIn = msalSignIn(stack.sim);
  };
  const tokenCalls = () => stack.sim.control.calls({ method: 'POST', path: new RegExp(TOKEN_PATH) });

  beforeAll(async () => {
    stack = await startStack({
      env: { DEFENDER_API_RATE: ROOMY_API_RATE, ...MSAL_ENV },
      sim: MSAL_SIM,
      // Real MSAL with the client secret, its sign-in routed to the simulator's token endpoint.
      defenderTokens: (sim) => {
        signIn = msalSignIn(sim);
        return { getToken: () => signIn.getToken() };
      },
    });
    client = teamsClientFor(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers a message with a clear reply and no card while Entra ID refuses the credentials', async () => {
    tokenExpires();
    stack.sim.control.setTokenFailure({
      status: 401,
      error: 'invalid_client',
      description: 'AADSTS7000215: Invalid client secret provided.',
    });
    try {
      const thread = channelThread();
      expect(
        await client.sendMessage({
          conversation: thread,
          from: USERS.requester,
          text: 'run whoami.ps1 on desktop-test',
        }),
      ).toBe(200);
      const reply = await waitForReply(stack, thread.id, /Defender refused the bot.s credentials/);
      expect(reply).toMatch(/Nothing was sent to the device/);
      expect(reply).not.toContain(CLIENT_SECRET);
      expect(stack.teams.activities(thread.id).filter((a) => stack.teams.findCard(a))).toHaveLength(0);
      expect(textReplies(stack, thread.id)).toHaveLength(1);
      expect(tokenCalls().map((c) => c.status)).toContain(401);
    } finally {
      stack.sim.control.setTokenFailure(null);
    }
    expect(stack.sim.control.calls({ path: /runliveresponse/ })).toHaveLength(0);
  });

  it('retries an approved submission while Entra ID is unavailable and sends it once, when sign-in works again', async () => {
    const request = await ask(stack, client, 'run whoami.ps1 on desktop-test');
    tokenExpires();
    // Entra ID unavailable, asking callers to come back in a second.
    stack.sim.control.injectFault({
      method: 'POST',
      path: TOKEN_PATH,
      kind: 'status',
      status: 503,
      retryAfterSeconds: 1,
      body: {
        error: 'temporarily_unavailable',
        error_description: 'AADSTS90033: A transient error has occurred. Please try again.',
        error_codes: [90033],
      },
      times: 'always',
    });

    // Someone asks meanwhile: told clearly, no card.
    const other = channelThread();
    expect(
      await client.sendMessage({
        conversation: other,
        from: USERS.requester,
        text: 'run whoami.ps1 on desktop-test2',
      }),
    ).toBe(200);
    const reply = await waitForReply(stack, other.id, /Nothing was sent to the device/);
    expect(reply).toMatch(/could not sign in to Defender/);
    expect(stack.teams.activities(other.id).filter((a) => stack.teams.findCard(a))).toHaveLength(0);

    const refusedBefore = tokenCalls().filter((c) => c.status === 503).length;
    await approve(client, request);
    // The submission keeps trying while sign-in fails, and its card does not give up.
    await stack.teams.waitFor(() => tokenCalls().filter((c) => c.status === 503).length > refusedBefore, {
      description: 'the submission to try to sign in again',
    });
    expect(runCallsFor(stack, MACHINE_IDS.desktop)).toHaveLength(0);
    stack.sim.control.clearFaults();

    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (t) =>
      /Exit code 0/.test(t),
    );
    expect(cardText(card)).toContain('nt authority\\system');
    expect(runCallsFor(stack, MACHINE_IDS.desktop).map((c) => c.status)).toEqual([201]);
    expect(actionsOf(stack, request.requestId)).toHaveLength(1);
    const everything = cardVersions(stack, request.activity.id)
      .map((c) => JSON.stringify(c))
      .join('\n');
    expect(everything).not.toMatch(/Failed|refused the bot/);
    expect(everything).not.toContain(ACCESS_TOKEN);
    expect(everything).not.toContain(CLIENT_SECRET);
    expectCardsSafe(stack, request.activity.id);
  });
});
