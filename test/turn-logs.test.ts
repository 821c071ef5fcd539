// Every line the bot writes is JSON, botbuilder's own prints included (a bearer token the Bot Framework refuses made
// it print an error and its stack to stderr), and a Teams turn's lines carry the request it is about. The first test
// runs the bot as operators do (`tsx app/main.ts`, a registered app id) in a child process and reads its stderr; the
// second runs it in this process with its log lines captured. Real Redis, simulator and fake Teams over HTTP.
import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/bot-process.js';
import { teamsClientFor } from './support/flow-helpers.js';
import { REDIS_URL, type Stack, startStack, startTestServices } from './support/start-stack.js';
import { channelThread, TENANT_ID, USERS } from './support/teams-fixtures.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const APP_ID = '6f1c2b3a-9d8e-4f70-a1b2-c3d4e5f60718';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const notJson = (lines: string[]) =>
  lines.filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });

async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the bot’s output', () => {
  it('stays JSON lines on stderr when a request carries a bearer token the Bot Framework refuses', async () => {
    const { sim, teams } = await startTestServices();
    cleanups.push(
      () => sim.close(),
      () => teams.close(),
    );
    const port = await freePort();
    const stdout: string[] = [];
    const stderr: string[] = [];
    const collect = (into: string[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        into.push(...parts.filter(Boolean));
      };
    };
    const bot: ChildProcess = spawn(TSX, ['app/main.ts', '--http-only'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? ROOT,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL,
        REDIS_PREFIX: `lrlogs-${process.pid}-${Date.now().toString(36)}`,
        DEFENDER_API_URL: sim.url,
        DEFENDER_ACCESS_TOKEN: 'sim-token',
        APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92',
        MicrosoftAppId: APP_ID,
        MicrosoftAppPassword: 'not-a-real-secret',
        MicrosoftAppTenantId: TENANT_ID,
        PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
        LOG_LEVEL: 'info',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => bot.once('close', resolve));
    cleanups.push(async () => {
      if (bot.pid !== undefined && bot.exitCode === null) process.kill(-bot.pid, 'SIGKILL');
      await exited;
    });
    bot.stdout?.on('data', collect(stdout));
    bot.stderr?.on('data', collect(stderr));
    const url = `http://127.0.0.1:${port}`;
    await until('the bot to listen', () =>
      fetch(`${url}/healthz`)
        .then((res) => res.ok)
        .catch(() => false),
    );

    const response = await fetch(`${url}/api/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-bot-framework-token' },
      body: JSON.stringify({
        type: 'message',
        id: 'forged-1',
        text: 'status LR-7K3F9Q',
        channelId: 'msteams',
        serviceUrl: teams.url,
        from: { id: '29:someone' },
        recipient: { id: `28:${APP_ID}` },
        conversation: { id: '19:forged@thread.tacv2' },
      }),
    });
    expect(response.status).toBe(401);
    // botbuilder reports the refusal itself: as a JSON line carrying the turn's ids, never a bare stack trace.
    await until('the refusal in the log', () =>
      [...stdout, ...stderr].some((line) => line.includes('No valid identity')),
    );
    process.kill(-(bot.pid ?? 0), 'SIGTERM');
    await exited;

    expect(notJson(stderr)).toEqual([]);
    expect(notJson(stdout)).toEqual([]);
    const refusal = [...stdout, ...stderr]
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => JSON.stringify(entry).includes('No valid identity'));
    expect(refusal).toMatchObject({ source: 'console', activityId: 'forged-1', requestId: 'LR-7K3F9Q' });
  }, 60_000);

  it('names the request in a Teams turn’s error line, also when the turn created it', async () => {
    const lines: Array<Record<string, unknown>> = [];
    let partial = '';
    const logSink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts.filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const stack: Stack = await startStack({ env: { LOG_LEVEL: 'info' }, logSink });
    cleanups.push(() => stack.close());
    // Teams refuses the approval card (and the apology) every time: the turn fails after creating its request.
    stack.teams.failNext({ method: 'POST', pathIncludes: '/activities', status: 403, times: 10 });
    const client = teamsClientFor(stack);
    await client
      .sendMessage({
        conversation: channelThread(),
        from: USERS.requester,
        text: 'run whoami.ps1 on desktop-test',
      })
      .catch(() => undefined);

    await until('the turn to fail', () => lines.some((line) => line.msg === 'turn failed'));
    const failed = lines.find((line) => line.msg === 'turn failed');
    const [created] = (await stack.redis.keys(`${stack.prefix}*`)).flatMap(
      (key) => /:(LR-[0-9A-Z]{6})$/.exec(key)?.[1] ?? [],
    );
    expect(created).toMatch(/^LR-/);
    expect(failed).toMatchObject({ requestId: created, activityType: 'message' });
    expect(failed?.activityId).toEqual(expect.any(String));
  }, 60_000);
});
