// `npm run doctor` against the Defender simulator (real MSAL sign-ins routed to its token endpoint), a Redis server of
// the test's own (so its configuration can be changed) and a local https server standing in for PUBLIC_BASE_URL.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, exitCodeOf, formatResults } from '../scripts/doctor-checks.js';
import { runDoctor } from '../scripts/doctor-run.js';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { createOfflineMsalSetup } from '../simulator/offline-msal-setup.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const DEFENDER_APP = { id: '11111111-2222-3333-4444-555555555555', secret: 'defender-secret-Q8~x1' };
const BOT_APP = { id: '0f0e0d0c-0b0a-4909-8807-060504030201', secret: 'bot-password-Z3~k9' };
/** Every token the simulator issues carries this: the doctor must never print it. */
const TOKEN_TAG = 'doctor-token-tag-7f3a';

let sim: DefenderSimulator;
let redis: RedisServer;
let https: Server;
let publicUrl: string;
let certificate: string;
let dir: string;

beforeAll(async () => {
  sim = await startDefenderSimulator({
    accessToken: TOKEN_TAG,
    tokenEndpoint: {
      clientId: DEFENDER_APP.id,
      clientSecret: DEFENDER_APP.secret,
      otherApps: [{ clientId: BOT_APP.id, clientSecret: BOT_APP.secret }],
    },
  });
  redis = await startRedisServer();
  dir = mkdtempSync(join(tmpdir(), 'lr-doctor-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
  https = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: certificate }, (req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404).end();
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  publicUrl = `https://localhost:${(https.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sim?.close();
  await redis?.close();
  await new Promise((resolve) => https?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  sim.control.reset();
});

/** A deployment as an operator would configure it. */
const deployment = (): NodeJS.ProcessEnv => ({
  APPROVERS: 'alex.lead@contoso.com',
  MicrosoftAppId: BOT_APP.id,
  MicrosoftAppPassword: BOT_APP.secret,
  MicrosoftAppType: 'SingleTenant',
  MicrosoftAppTenantId: TENANT,
  PUBLIC_BASE_URL: publicUrl,
  REDIS_URL: redis.url,
  DEFENDER_API_URL: sim.url,
  DEFENDER_TENANT_ID: TENANT,
  DEFENDER_CLIENT_ID: DEFENDER_APP.id,
  DEFENDER_CLIENT_SECRET: DEFENDER_APP.secret,
});

const doctor = (env: NodeJS.ProcessEnv) =>
  runDoctor(env, {
    signIn: (authorityHost, tenantId) => createOfflineMsalSetup(sim.url, { tenantId, authorityHost }),
    publicUrlCa: certificate,
    timeoutMs: 5_000,
  });

const byName = (results: CheckResult[], name: string) => results.find((r) => r.name === name);
const failedNames = (results: CheckResult[]) => results.filter((r) => r.status === 'fail').map((r) => r.name);

function expectNoSecret(results: CheckResult[]): void {
  const printed = formatResults(results);
  for (const secret of [BOT_APP.secret, DEFENDER_APP.secret, TOKEN_TAG])
    expect(printed).not.toContain(secret);
}

describe('npm run doctor', () => {
  it('passes a deployment whose every part is right, and prints no secret', async () => {
    const results = await doctor(deployment());
    expect(failedNames(results)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual([
      'Configuration',
      'Redis version',
      'Redis persistence',
      'Redis maxmemory-policy',
      'Bot Framework sign-in',
      'Defender token audience',
      'Defender permissions',
      'Live response library',
      'Defender machines',
      'PUBLIC_BASE_URL',
    ]);
    expect(exitCodeOf(results)).toBe(0);
    expect(byName(results, 'Bot Framework sign-in')?.detail).toContain(
      'https://api.botframework.com/.default',
    );
    expectNoSecret(results);
  });

  it('fails when the Defender app misses a permission, naming it and how to grant it', async () => {
    sim.control.setGrantedRoles(['Machine.LiveResponse', 'Machine.Read.All']);
    const results = await doctor(deployment());
    expect(failedNames(results)).toEqual(['Defender permissions', 'Live response library']);
    expect(byName(results, 'Defender permissions')).toMatchObject({
      detail: expect.stringContaining('missing Library.Manage'),
      fix: expect.stringContaining('Grant admin consent'),
    });
    expect(byName(results, 'Live response library')?.detail).toContain('403');
    expect(exitCodeOf(results)).toBe(1);
    expectNoSecret(results);
  });

  it('fails a token for the wrong audience and says which DEFENDER_SCOPE to set', async () => {
    const results = await doctor({
      ...deployment(),
      DEFENDER_SCOPE: 'https://api.security.microsoft.com/.default',
    });
    expect(failedNames(results)).toEqual([
      'Defender token audience',
      'Defender permissions',
      'Live response library',
      'Defender machines',
    ]);
    expect(byName(results, 'Defender token audience')?.fix).toContain(
      'DEFENDER_SCOPE=https://api.securitycenter.microsoft.com/.default',
    );
    expect(exitCodeOf(results)).toBe(1);
  });

  it("fails a Redis whose maxmemory-policy could evict BullMQ's keys", async () => {
    const client = new Redis(redis.url);
    try {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const results = await doctor(deployment());
      expect(failedNames(results)).toEqual(['Redis maxmemory-policy']);
      expect(byName(results, 'Redis maxmemory-policy')?.fix).toContain('maxmemory-policy noeviction');
      expect(exitCodeOf(results)).toBe(1);
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      client.disconnect();
    }
  });

  it("reaches a Redis that wants a password with the bot's own REDIS_PASSWORD, and never prints it", async () => {
    const client = new Redis(redis.url);
    const password = 'doctor-redis-password-0123456789';
    try {
      await client.config('SET', 'requirepass', password);
      const results = await doctor({ ...deployment(), REDIS_PASSWORD: password });
      expect(failedNames(results)).toEqual([]);
      expect(JSON.stringify(results)).not.toContain(password);
    } finally {
      await client.auth(password).catch(() => undefined);
      await client.config('SET', 'requirepass', '');
      client.disconnect();
    }
  });

  it('fails a wrong bot password without printing it', async () => {
    const results = await doctor({ ...deployment(), MicrosoftAppPassword: 'not-the-bot-password' });
    expect(failedNames(results)).toEqual(['Bot Framework sign-in']);
    expect(byName(results, 'Bot Framework sign-in')?.fix).toMatch(/MicrosoftAppPassword is wrong/);
    expect(formatResults(results)).not.toContain('not-the-bot-password');
  });

  it('fails a plain http PUBLIC_BASE_URL with the fix, and one that does not answer', async () => {
    const local = { ...deployment(), MicrosoftAppId: '', MicrosoftAppPassword: '', MicrosoftAppTenantId: '' };
    const http = await doctor({ ...local, PUBLIC_BASE_URL: 'http://lrbot.contoso.com' });
    expect(byName(http, 'PUBLIC_BASE_URL')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('https'),
    });
    expect(byName(http, 'Bot Framework sign-in')?.status).toBe('warn');
    const closed = await doctor({ ...deployment(), PUBLIC_BASE_URL: 'https://localhost:1' });
    expect(byName(closed, 'PUBLIC_BASE_URL')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('runs as a command: a configuration it cannot read prints the problem and exits 1', () => {
    const run = spawnSync('npx', ['tsx', 'scripts/doctor.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DEFENDER_ACCESS_TOKEN: 'x' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}Configuration: .*APPROVERS is required/);
    expect(run.stdout).toContain('fix: fix each setting named above');
  });
});
