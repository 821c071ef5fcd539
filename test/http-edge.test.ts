// The bot's HTTP edge as a stranger meets it: where it listens with and without an app id, what a malformed
// activity gets back (a short JSON 4xx, never an HTML stack trace), the pages the Teams manifest links to, and
// start-up refusing a bot registration that Teams would break or that would let any tenant in.
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { type RunningApp, startApp } from '../app/start-app.js';
import { teamsClientFor } from './support/flow-helpers.js';
import { REDIS_URL, type Stack, startStack } from './support/start-stack.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const APP_ID = '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** An IPv4 address of this machine other than loopback, or undefined when it has none. */
function externalAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces()))
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  return undefined;
}

function logCollector(): { sink: Writable; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { sink, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Whether an HTTP GET to `url` gets any answer (a refused or unreachable connection is `false`). */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3_000) });
    return true;
  } catch {
    return false;
  }
}

let prefixCount = 0;
const apps: RunningApp[] = [];
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);

/** The bot's HTTP side started the way `npm start` does: the host comes from the configuration alone. */
async function startHttpOnly(env: Record<string, string>) {
  const prefix = `lrtest-edge-${process.pid}-${Date.now().toString(36)}-${prefixCount++}`;
  prefixes.push(prefix);
  const logs = logCollector();
  const config = readConfig({
    PORT: '0',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: 'http://127.0.0.1:9',
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    APPROVERS: 'sam.oncall@contoso.com',
    ...env,
  });
  const app = await startApp(config, { http: true, workers: false, logger: createLogger('info', logs.sink) });
  apps.push(app);
  return { app, logs: logs.lines };
}

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('where the bot listens', () => {
  const address = externalAddress();

  it.skipIf(!address)('without an app id answers on loopback only, and says so at start-up', async () => {
    const { app, logs } = await startHttpOnly({});
    expect(await answers(`http://127.0.0.1:${app.port}/healthz`)).toBe(true);
    expect(await answers(`http://${address}:${app.port}/healthz`)).toBe(false);
    const started = logs().find((line) => String(line.msg).includes('listening on loopback only'));
    expect(started?.msg).toMatch(/anonymous mode .*loopback only \(127\.0\.0\.1:\d+\)/);
  });

  it.skipIf(!address)('with an app id (here a managed identity) answers on the network address', async () => {
    const { app, logs } = await startHttpOnly({
      MicrosoftAppId: APP_ID,
      MicrosoftAppType: 'UserAssignedMSI',
      MicrosoftAppTenantId: TENANT,
      PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
    });
    const health = await fetch(`http://${address}:${app.port}/healthz`);
    expect(health.status).toBe(200);
    // Unsigned activities from the network are refused by Bot Framework authentication.
    const unsigned = await fetch(`http://${address}:${app.port}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        text: 'help',
        serviceUrl: 'https://smba.trafficmanager.net/amer/',
        conversation: { id: '19:x@thread.tacv2' },
        from: { id: '29:someone' },
      }),
    });
    expect(unsigned.status).toBe(401);
    expect(logs().some((line) => String(line.msg).includes('Bot Framework authentication on'))).toBe(true);
  });
});

describe('start-up', () => {
  function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(TSX, ['app/main.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          REDIS_URL,
          DEFENDER_ACCESS_TOKEN: 'sim-token',
          APPROVERS: 'sam.oncall@contoso.com',
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  it('refuses MultiTenant without ALLOWED_TENANT_IDS, saying why and what to set', async () => {
    const { code, stderr } = await runMain({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: 'bot-secret',
      MicrosoftAppType: 'MultiTenant',
      MicrosoftAppTenantId: TENANT,
      PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
      ALLOWED_TENANT_IDS: '',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('MicrosoftAppType is MultiTenant but ALLOWED_TENANT_IDS is empty');
    expect(stderr).toContain('AADSTS700016');
    expect(stderr).toContain('31 July 2025');
  }, 40_000);

  it('refuses a registered bot without its tenant or its public https address', async () => {
    const { code, stderr } = await runMain({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: 'bot-secret',
      PUBLIC_BASE_URL: 'http://lrbot.contoso.com',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('MicrosoftAppTenantId is required');
    expect(stderr).toContain('PUBLIC_BASE_URL must be https');
  }, 40_000);
});

describe('malformed activities', () => {
  let stack: Stack;
  const logs = logCollector();

  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { LOG_LEVEL: 'info' }, logSink: logs.sink });
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function post(body: string): Promise<{ status: number; type: string; text: string }> {
    const response = await fetch(`${stack.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  }

  /** What every refusal must look like: a 4xx with a short JSON error and nothing of the bot's insides. */
  function expectShortJsonError(answer: { status: number; type: string; text: string }, status: number) {
    expect(answer.status).toBe(status);
    expect(answer.type).toMatch(/^application\/json/);
    const body = JSON.parse(answer.text) as { error?: unknown };
    expect(typeof body.error).toBe('string');
    expect(answer.text.length).toBeLessThan(200);
    expect(answer.text).not.toMatch(/<html|<pre|\bat \w|node_modules|\/work\/|\.ts:\d/i);
  }

  function refusalLogs(status: number): Record<string, unknown>[] {
    return logs.lines().filter((line) => line.status === status && /refused/.test(String(line.msg)));
  }

  it('answers {} with 400 naming the missing type', async () => {
    const answer = await post('{}');
    expectShortJsonError(answer, 400);
    expect(answer.text).toContain('type is missing');
  });

  it('answers invalid JSON with 400', async () => {
    const answer = await post('{"type": "message",');
    expectShortJsonError(answer, 400);
    expect(answer.text).toContain('not valid JSON');
  });

  it('answers a message without a conversation with 400 and runs no turn', async () => {
    const before = stack.teams.requestLog().length;
    const message = teamsClientFor(stack).buildMessage({
      conversation: channelThread(),
      from: USERS.requester,
      text: 'help',
    });
    const { conversation: _dropped, ...withoutConversation } = message;
    const answer = await post(JSON.stringify(withoutConversation));
    expectShortJsonError(answer, 400);
    expect(answer.text).toContain('conversation.id is missing');
    expect(stack.teams.requestLog().length).toBe(before);
    expect(logs.lines().some((line) => line.msg === 'turn failed')).toBe(false);
  });

  it('answers a bare {"type":"message"} with 400', async () => {
    expectShortJsonError(await post('{"type":"message"}'), 400);
  });

  it('answers an oversized body with 413 before reading it', async () => {
    const answer = await post(JSON.stringify({ type: 'message', text: 'x'.repeat(300 * 1024) }));
    expectShortJsonError(answer, 413);
    expect(answer.text).toContain('larger than');
  });

  it('logs one JSON line for each refusal', () => {
    expect(refusalLogs(400).map((line) => line.problem)).toEqual([
      'type is missing',
      'the body is not valid JSON',
      'conversation.id is missing',
      'serviceUrl is missing or not an http(s) URL',
    ]);
    expect(refusalLogs(413)).toHaveLength(1);
  });

  it('still answers a well-formed message', async () => {
    const thread = channelThread();
    const status = await teamsClientFor(stack).sendMessage({
      conversation: thread,
      from: USERS.requester,
      text: 'help',
    });
    expect(status).toBe(200);
    await stack.teams.waitFor(() => stack.teams.activities(thread.id).length > 0, {
      description: 'the help reply',
    });
  });
});

describe('pages the Teams manifest links to', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('serves the privacy and terms pages, saying what the bot stores', async () => {
    const privacy = await fetch(`${stack.botUrl}/privacy`);
    expect(privacy.status).toBe(200);
    expect(privacy.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await privacy.text();
    expect(text).toContain('Redis');
    expect(text).toContain('audit trail');
    expect(text).toMatch(/keeps no copy of the files/);
    const terms = await fetch(`${stack.botUrl}/terms`);
    expect(terms.status).toBe(200);
    expect(await terms.text()).toContain('approver');
    expect((await fetch(`${stack.botUrl}/`)).status).toBe(200);
  });
});
