// What an operator sees of a running bot: the audit trail shipped out of Redis (and `audit LR-…` in chat), the
// Prometheus metrics, liveness apart from readiness, the queue dashboard behind a password, and JSON logs that name
// the request and job they are about. Real Redis, the Defender simulator and fake Teams over HTTP.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { say } from './support/chat-helpers.js';
import { cardText, teamsClientFor } from './support/flow-helpers.js';
import {
  type AskedRequest,
  askAndApprove,
  downloadPaths,
  ROOMY_API_RATE,
  waitForFinalCard,
} from './support/request-steps.js';
import { type Stack, startStack } from './support/start-stack.js';
import type { TeamsClient } from './support/teams-client.js';
import { USERS } from './support/teams-fixtures.js';

const DASHBOARD_PASSWORD = 'correct-horse-battery-staple-42';

interface AuditLine {
  type: string;
  requestId: string;
  action: string;
  actor?: { name: string };
  detail?: string;
  state?: string;
}

describe('operating the bot', () => {
  let stack: Stack;
  let client: TeamsClient;
  let dir: string;
  let request: AskedRequest;
  const logLines: string[] = [];

  const auditLines = async (): Promise<AuditLine[]> =>
    (await readFile(join(dir, 'audit.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lr-ops-'));
    let partial = '';
    const logSink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        logLines.push(...parts.filter(Boolean));
        done();
      },
    });
    stack = await startStack({
      env: {
        DEFENDER_API_RATE: ROOMY_API_RATE,
        AUDIT_SINK: `file:${join(dir, 'audit.jsonl')}`,
        QUEUE_DASHBOARD_PASSWORD: DASHBOARD_PASSWORD,
        LOG_LEVEL: 'debug',
      },
      logSink,
    });
    client = teamsClientFor(stack);
    request = await askAndApprove(
      stack,
      client,
      'run whoami.ps1 then getfile C:\\windows\\TEMP\\evidence.zip on desktop-test2',
    );
    const card = await waitForFinalCard(stack, request.activity.id, /Succeeded/, (text) =>
      /evidence\.zip/.test(text),
    );
    const opened = await fetch(`${stack.botUrl}${downloadPaths(card).at(-1)}`);
    expect(opened.status).toBe(200);
    await opened.arrayBuffer();
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every decision and action as one JSON line to the audit sink, once committed', async () => {
    const mine = (await auditLines()).filter((line) => line.requestId === request.requestId);
    expect(mine.every((line) => line.type === 'lr-bot.audit')).toBe(true);
    const actions = mine.map((line) => line.action);
    expect(actions).toEqual(expect.arrayContaining(['requested', 'approved', 'submitted', 'downloaded']));
    expect(mine.find((line) => line.action === 'approved')).toMatchObject({
      actor: { name: 'Alex Lead' },
      state: 'Approved',
    });
    // The same entries as Redis holds, in the same order.
    const inRedis = (await stack.redis.lrange(`${stack.prefix}:audit:${request.requestId}`, 0, -1)).map(
      (entry) => (JSON.parse(entry) as { action: string }).action,
    );
    expect(actions).toEqual(inRedis);
    // Never the link itself: it is the key to the file.
    expect(JSON.stringify(mine)).not.toMatch(/\/download\/|sig=/);
  });

  it('records a refused click and a rejection in the sink too', async () => {
    const other = await say(stack, client, request.thread, USERS.requester, 'run whoami.ps1 on desktop-test');
    expect(other.cards).toBe(1);
    const card = stack.teams
      .activities(request.thread.id)
      .filter((a) => stack.teams.findCard(a))
      .at(-1)!;
    const otherId = /LR-[0-9A-Z]{6}/.exec(cardText(stack.teams.findCard(card)))![0];
    const invoke = (from: (typeof USERS)[keyof typeof USERS], verb: string) =>
      client.invokeAction({
        conversation: request.thread,
        from,
        replyToId: card.id,
        verb,
        data: { requestId: otherId },
      });
    await invoke(USERS.outsider, 'lr.approve');
    await invoke(USERS.approver, 'lr.reject');
    const lines = (await auditLines()).filter((line) => line.requestId === otherId);
    expect(lines.map((line) => line.action)).toEqual(['requested', 'refused', 'rejected']);
    expect(lines[1]!.actor?.name).toBe(USERS.outsider.name);
  });

  it('shows a request’s audit trail in chat to its requester and approvers, and refuses anyone else', async () => {
    const asked = await say(stack, client, request.thread, USERS.requester, `audit ${request.requestId}`);
    expect(asked.replies.join('\n')).toMatch(new RegExp(`Audit trail of ${request.requestId}`));
    expect(asked.replies.join('\n')).toMatch(/\*\*approved\*\* by Alex Lead/);
    expect(asked.replies.join('\n')).toMatch(/\*\*submitted\*\*/);

    const approver = await say(stack, client, request.thread, USERS.approver, `audit ${request.requestId}`);
    expect(approver.replies.join('\n')).toMatch(/\*\*requested\*\* by /);

    const outsider = await say(stack, client, request.thread, USERS.outsider, `audit ${request.requestId}`);
    expect(outsider.replies.join('\n')).toMatch(/Only .* and the on-call approvers can see the audit trail/);
    expect(outsider.replies.join('\n')).not.toMatch(/approved/);
    const refused = (await auditLines()).filter(
      (line) => line.requestId === request.requestId && line.action === 'refused',
    );
    expect(refused.at(-1)?.detail).toMatch(/^audit:/);

    const noId = await say(stack, client, request.thread, USERS.requester, 'audit');
    expect(noId.replies.join('\n')).toMatch(/`audit` needs its id[\s\S]*audit LR-7K3F9Q/);
  });

  it('exposes Prometheus metrics for requests, Defender calls, cards, budgets, sessions and queues, labelled by route template', async () => {
    const response = await fetch(`${stack.botUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    /** A sample's value by metric name and labels, whatever order prom-client prints the labels in. */
    const value = (name: string, labels: Record<string, string> = {}): number => {
      for (const line of text.split('\n')) {
        const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        if (Object.entries(labels).every(([key, v]) => match[2]!.includes(`${key}="${v}"`)))
          return Number(match[3]);
      }
      return Number.NaN;
    };
    expect(value('lr_request_transitions_total', { state: 'Succeeded' })).toBeGreaterThanOrEqual(1);
    expect(value('lr_requests_finished_total', { outcome: 'Succeeded' })).toBeGreaterThanOrEqual(1);
    expect(value('lr_approval_wait_seconds_count', { decision: 'approved' })).toBeGreaterThanOrEqual(1);
    expect(value('lr_approval_to_submission_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value('lr_approval_to_final_card_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      value('lr_defender_calls_total', { route: 'POST /api/machines/{id}/runliveresponse', status: '201' }),
    ).toBe(1);
    expect(value('lr_card_updates_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    // One runliveresponse taken from the 10-per-minute budget (the test finishes well within the minute).
    expect(value('lr_defender_budget_remaining', { kind: 'run', window: '10/60s' })).toBe(9);
    expect(value('lr_defender_sessions', { kind: 'max' })).toBe(25);
    expect(value('lr_defender_sessions', { kind: 'in_use' })).toBe(0);
    expect(value('lr_metrics_redis_up')).toBe(1);
    expect(text).toMatch(/^lr_queue_jobs\{queue="lr-submit",state="waiting"[^}]*\} \d+/m);
    expect(text).toMatch(/^lr_queue_oldest_waiting_seconds\{queue="lr-cards"[^}]*\} [\d.]+/m);
    expect(text).toMatch(/^# TYPE lr_reconciler_repairs_total counter/m);
    // Bounded labels: no request ids, machine ids or URLs.
    expect(text).not.toMatch(/LR-[0-9A-Z]{6}|[0-9a-f]{40}|https?:\/\//);
  });

  it('keeps liveness apart from readiness', async () => {
    const live = await fetch(`${stack.botUrl}/livez`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${stack.botUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: 'up', workers: 'up', defenderToken: 'up' });
    expect((await fetch(`${stack.botUrl}/healthz`)).status).toBe(200);
  });

  it('refuses the queue dashboard without the password', async () => {
    const anonymous = await fetch(`${stack.botUrl}/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const wrong = await fetch(`${stack.botUrl}/queues/api/queues`, {
      headers: { authorization: basic('ops', `${DASHBOARD_PASSWORD}x`) },
    });
    expect(wrong.status).toBe(401);
    const api = await fetch(`${stack.botUrl}/queues/api/queues`);
    expect(api.status).toBe(401);
    const right = await fetch(`${stack.botUrl}/queues/api/queues`, {
      headers: { authorization: basic('ops', DASHBOARD_PASSWORD) },
    });
    expect(right.status).toBe(200);
    expect(JSON.stringify(await right.json())).toMatch(/lr-submit/);
  });

  it('logs only JSON lines, and lines written during a job carry its job id and request id', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const parsed = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const submitCall = parsed.find(
      (line) =>
        line.msg === 'defender call' && typeof line.jobId === 'string' && line.jobId.startsWith('submit-'),
    );
    expect(submitCall).toMatchObject({ requestId: request.requestId, job: 'submit', queue: 'lr-submit' });
  });
});

describe('operating the bot, other settings', () => {
  it('serves metrics and readiness on METRICS_PORT only, and reports not ready while Defender gives no token', async () => {
    const stack = await startStack({
      env: { METRICS_PORT: '0' },
      defenderTokens: () => ({
        getToken: async () => {
          throw new Error('AADSTS7000215: Invalid client secret provided.');
        },
      }),
    });
    try {
      expect((await fetch(`${stack.botUrl}/metrics`)).status).toBe(404);
      expect((await fetch(`${stack.botUrl}/queues`)).status).toBe(404);
      const ops = `http://127.0.0.1:${stack.app.opsPort}`;
      expect(stack.app.opsPort).not.toBe(stack.app.port);
      expect((await fetch(`${ops}/metrics`)).status).toBe(200);
      // The dashboard is off unless a password is set.
      expect((await fetch(`${ops}/queues`)).status).toBe(404);
      // Live (and /healthz: Redis answers) but not ready: a restart would not bring the token back.
      expect((await fetch(`${ops}/livez`)).status).toBe(200);
      expect((await fetch(`${stack.botUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${ops}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', redis: 'up', defenderToken: 'down' });
    } finally {
      await stack.close();
    }
  });
});
