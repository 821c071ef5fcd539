// The tab's API behind Teams SSO: who sees what, refused tokens, approving from the tab with the card's rules, and
// sign-in downloads with their audit entry. Real Redis, the Defender simulator, fake Teams and the Entra simulator.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askFor, runLiveResponseCalls, teamsClientFor, waitForCard } from './support/flow-helpers.js';
import { startTabStack, TAB_APP_ID, type TabStack } from './support/tab-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { channelThread, GROUP_CHAT, OTHER_TENANT_ID, TEAM, USERS } from './support/teams-fixtures.js';

let stack: TabStack;
let client: TeamsClient;

beforeAll(async () => {
  stack = await startTabStack();
  client = teamsClientFor(stack);
});
afterAll(async () => {
  await stack?.close();
});

const trailOf = async (id: string, token: string) =>
  ((await stack.api('GET', `/tab/api/requests/${id}`, token)).body.trail ?? []) as Array<{
    action: string;
    by?: string;
    detail?: string;
  }>;

describe('tab sign-in', () => {
  it('refuses a call without a token, an expired one, another audience, another tenant and a forged signature', async () => {
    const thread = channelThread();
    const { requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.requester,
      'run collect.ps1 on desktop-test',
    );
    const path = `/tab/api/requests/${requestId}`;
    const none = await stack.api('GET', path, null);
    expect(none.status).toBe(401);
    expect(String(none.body.error)).toMatch(/Sign-in required/);

    const expired = await stack.api(
      'GET',
      path,
      await stack.tokenFor(USERS.approver, {}, { expiresInSeconds: -600 }),
    );
    expect(expired.status).toBe(401);
    expect(String(expired.body.error)).toMatch(/expired/);

    const otherApp = await stack.tokenFor(USERS.approver, {
      aud: 'api://localhost:3978/00000000-0000-0000-0000-000000000001',
    });
    const wrongAudience = await stack.api('GET', path, otherApp);
    expect(wrongAudience.status).toBe(401);
    expect(String(wrongAudience.body.error)).toMatch(/another app/);

    const foreign = await stack.api('GET', path, await stack.tokenFor(USERS.foreigner));
    expect(foreign.status).toBe(403);
    expect(String(foreign.body.error)).toMatch(/organisation may not use/);
    expect(foreign.body).not.toHaveProperty('id');

    // An approver's object id in a token of another tenant, signed by that tenant's (valid) key: still refused.
    const spoofed = await stack.api(
      'GET',
      path,
      await stack.tokenFor(USERS.approver, { tid: OTHER_TENANT_ID }),
    );
    expect(spoofed.status).toBe(403);

    const forged = await stack.api(
      'GET',
      path,
      await stack.tokenFor(USERS.approver, {}, { foreignKey: true }),
    );
    expect(forged.status).toBe(401);
    expect(String(forged.body.error)).toMatch(/signature/);

    const wrongIssuer = await stack.api(
      'GET',
      path,
      await stack.tokenFor(USERS.approver, {}, { issuer: `${stack.entra.url}/${OTHER_TENANT_ID}/v2.0` }),
    );
    expect(wrongIssuer.status).toBe(401);

    const ok = await stack.api('GET', path, await stack.tokenFor(USERS.approver));
    expect(ok.status).toBe(200);
    expect(ok.body.id).toBe(requestId);
  });

  it("keeps a request from a token of another allowed tenant, even one carrying an approver's object id", async () => {
    // A bot that serves two tenants: the other tenant's token passes sign-in, so only the request's own tenant
    // keeps its requests apart (object ids are unique per tenant only as far as the bot can tell).
    const both = await startTabStack({
      ALLOWED_TENANT_IDS: `${USERS.requester.tenantId},${OTHER_TENANT_ID}`,
    });
    try {
      const { requestId } = await askFor(
        both,
        teamsClientFor(both),
        channelThread(),
        USERS.requester,
        'run collect.ps1 on desktop-test',
      );
      const path = `/tab/api/requests/${requestId}`;
      const spoofed = await both.api(
        'GET',
        path,
        await both.tokenFor(USERS.approver, { tid: OTHER_TENANT_ID }),
      );
      expect(spoofed.status).toBe(404);
      expect(JSON.stringify(spoofed.body)).not.toContain('desktop-test');
      expect((await both.api('GET', path, await both.tokenFor(USERS.approver))).status).toBe(200);
    } finally {
      await both.close();
    }
  });

  it('accepts the bare app id as audience (v2 tokens) as well as the App ID URI', async () => {
    const v2 = await stack.tokenFor(USERS.approver, { aud: TAB_APP_ID });
    expect((await stack.api('GET', '/tab/api/me', v2)).status).toBe(200);
  });
});

describe('who sees a request', () => {
  it('shows a channel request to its members and a chat request only to that chat’s members', async () => {
    const thread = channelThread();
    const channel = await askFor(stack, client, thread, USERS.requester, 'run collect.ps1 on desktop-test');
    const chat = await askFor(stack, client, GROUP_CHAT, USERS.requester, 'run collect.ps1 on srv-db01');
    const morgan = await stack.tokenFor(USERS.outsider);

    // Morgan is in the team (so the channel) but not in the group chat.
    expect((await stack.api('GET', `/tab/api/requests/${channel.requestId}`, morgan)).status).toBe(200);
    const hidden = await stack.api('GET', `/tab/api/requests/${chat.requestId}`, morgan);
    expect(hidden.status).toBe(404);
    expect(JSON.stringify(hidden.body)).not.toContain('srv-db01');
    const chatList = await stack.api(
      'GET',
      `/tab/api/conversations/${encodeURIComponent(GROUP_CHAT.id)}/requests`,
      morgan,
    );
    expect(chatList.body.requests).toEqual([]);
    const grant = await stack.api('POST', `/tab/api/requests/${chat.requestId}/downloads/0`, morgan);
    expect(grant.status).toBe(404);

    // The requester (a member) sees the chat's list, newest first.
    const riley = await stack.tokenFor(USERS.requester);
    const list = await stack.api(
      'GET',
      `/tab/api/conversations/${encodeURIComponent(GROUP_CHAT.id)}/requests`,
      riley,
    );
    const ids = (list.body.requests as Array<{ id: string }>).map((r) => r.id);
    expect(ids[0]).toBe(chat.requestId);
    const channelList = await stack.api(
      'GET',
      `/tab/api/conversations/${encodeURIComponent(TEAM.incidents.id)}/requests`,
      morgan,
    );
    expect((channelList.body.requests as Array<{ id: string }>).map((r) => r.id)).toContain(
      channel.requestId,
    );
  });

  it('answers a forged or unknown request id like a request one may not see', async () => {
    const token = await stack.tokenFor(USERS.approver);
    for (const id of ['LR-ZZZZZZ', 'LR-../../x', '%00', 'lr-abc']) {
      const answer = await stack.api('GET', `/tab/api/requests/${encodeURIComponent(id)}`, token);
      expect(answer.status).toBe(404);
    }
    expect((await stack.api('POST', '/tab/api/requests/LR-ZZZZZZ/downloads/0', token)).status).toBe(404);
    expect(
      (await stack.api('POST', '/tab/api/requests/LR-ZZZZZZ/decision', token, { decision: 'approve' }))
        .status,
    ).toBe(404);
  });

  it('lists my requests across conversations, and what waits for my approval', async () => {
    const asked = await askFor(stack, client, GROUP_CHAT, USERS.requester, 'run collect.ps1 on desktop-test');
    const mine = await stack.api('GET', '/tab/api/my-requests', await stack.tokenFor(USERS.requester));
    expect((mine.body.mine as Array<{ id: string }>).map((r) => r.id)).toContain(asked.requestId);
    expect(mine.body.awaitingMyApproval).toEqual([]);
    const lead = await stack.api('GET', '/tab/api/my-requests', await stack.tokenFor(USERS.approver));
    expect((lead.body.awaitingMyApproval as Array<{ id: string }>).map((r) => r.id)).toContain(
      asked.requestId,
    );
    expect(lead.body.mine).toEqual([]);
  });
});

describe('deciding from the tab', () => {
  it('refuses self-approval and non-approvers, approves once for an approver, audits it and updates the card', async () => {
    const thread = channelThread();
    // Sam is an approver who asks for something himself.
    const { activity, requestId } = await askFor(
      stack,
      client,
      thread,
      USERS.secondApprover,
      'run collect.ps1 on desktop-test2',
    );
    const path = `/tab/api/requests/${requestId}/decision`;

    const self = await stack.api('POST', path, await stack.tokenFor(USERS.secondApprover), {
      decision: 'approve',
    });
    expect(self.status).toBe(409);
    expect(String(self.body.error)).toMatch(/another approver has to decide/);
    const member = await stack.api('POST', path, await stack.tokenFor(USERS.outsider), {
      decision: 'approve',
    });
    expect(member.status).toBe(409);
    expect(String(member.body.error)).toMatch(/Only the on-call approvers/);
    const bad = await stack.api('POST', path, await stack.tokenFor(USERS.approver), { decision: 'yes' });
    expect(bad.status).toBe(400);
    expect(runLiveResponseCalls(stack)).toBe(0);

    // Two clicks at once (two tabs open): one approval.
    const alex = await stack.tokenFor(USERS.approver);
    const answers = await Promise.all([
      stack.api('POST', path, alex, { decision: 'approve' }),
      stack.api('POST', path, alex, { decision: 'approve' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(String(answers.find((a) => a.status === 409)?.body.error)).toMatch(
      /already approved by Alex Lead/,
    );

    await waitForCard(stack, activity.id, /Approved by Alex Lead/);
    await waitForCard(stack, activity.id, /Succeeded/);
    expect(runLiveResponseCalls(stack)).toBe(1);
    const trail = await trailOf(requestId, alex);
    expect(trail.filter((e) => e.action === 'approved').map((e) => e.by)).toEqual(['Alex Lead']);
    expect(trail.some((e) => e.action === 'refused' && e.by === 'Sam Oncall')).toBe(true);
    expect(trail.some((e) => e.action === 'refused' && e.by === 'Morgan Helpdesk')).toBe(true);
  });
});

describe('sign-in downloads', () => {
  it('streams a result by a single-use grant with its name, audits who downloaded it with the hash, and sends card links to the tab', async () => {
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
    const card = await waitForCard(stack, activity.id, /Succeeded/);

    // The card's download buttons open the tab at the request in Teams directly (a Teams deep link, no browser
    // on the way), and no bot /download link is on the card to be shared.
    const deepLink = new RegExp(
      `^https://teams\\.microsoft\\.com/l/entity/${TAB_APP_ID}/my-requests\\?.*${requestId}`,
    );
    const downloadButtons = (JSON.stringify(card).match(/"url":"[^"]+"/g) ?? []).map(
      (u) => JSON.parse(`{${u}}`).url,
    );
    expect(downloadButtons.length).toBeGreaterThan(0);
    for (const url of downloadButtons) expect(url).toMatch(deepLink);
    expect(JSON.stringify(card)).not.toContain('/download/');
    // A bot link on a card posted before sign-in downloads were turned on leads to the same place.
    const older = await fetch(`${stack.botUrl}/download/${requestId}/1/x`, { redirect: 'manual' });
    expect(older.status).toBe(302);
    expect(older.headers.get('location')).toMatch(deepLink);

    const morgan = await stack.tokenFor(USERS.outsider);
    const grant = await stack.api('POST', `/tab/api/requests/${requestId}/downloads/1`, morgan);
    expect(grant.status).toBe(200);
    expect(grant.body.fileName).toBe('OfficeClickToRun.dmp.zip');
    const url = `${stack.botUrl}${String(grant.body.url)}`;
    const file = await fetch(url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toContain('filename="OfficeClickToRun.dmp.zip"');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(0);
    const sha = createHash('sha256').update(bytes).digest('hex');

    expect((await fetch(url)).status).toBe(410);
    const trail = await trailOf(requestId, morgan);
    const download = trail.find((e) => e.action === 'downloaded');
    expect(download?.by).toBe('Morgan Helpdesk');
    expect(download?.detail).toContain('OfficeClickToRun.dmp.zip');
    expect(download?.detail).toContain(sha);
  });

  it('gives no file for a made-up grant', async () => {
    const answer = await fetch(`${stack.botUrl}/tab/download/${'A'.repeat(32)}`);
    expect(answer.status).toBe(410);
  });
});

describe('outside Teams', () => {
  it('serves a page that shows no data and an API that answers nothing without a token', async () => {
    const page = await fetch(`${stack.botUrl}/tab/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain('frame-ancestors');
    const list = await stack.api(
      'GET',
      `/tab/api/conversations/${encodeURIComponent(TEAM.incidents.id)}/requests`,
      null,
    );
    expect(list.status).toBe(401);
    expect(list.body).not.toHaveProperty('requests');
  });
});
