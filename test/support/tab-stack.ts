// The whole bot with the Teams tab for integration tests: the usual stack (Defender simulator, fake Teams, real
// Redis under its own prefix) plus the local Entra simulator for SSO and the local Teams host page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type BrowserContext, chromium } from 'playwright-core';
import { readConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { type RunningApp, startApp } from '../../app/start-app.js';
import {
  type EntraSimulator,
  type EntraTokenClaims,
  startEntraSimulator,
} from '../../simulator/entra-simulator.js';
import { type LocalHostSettings, renderLocalHostPage } from '../../simulator/teams-host-page.js';
import { buildTab } from '../../tab/build-tab.js';
import { REDIS_URL, type Stack, startTestServices } from './start-stack.js';
import { GROUP_CHAT, TEAM, type TeamsUser, USERS } from './teams-fixtures.js';

/** The tab's Entra app id in tests. */
export const TAB_APP_ID = '7b1d5c3e-9f2a-4e6b-8c4d-1a3e5f7b9d20';
/** PORT=0 makes the default public URL this; the App ID URI follows it. */
export const PUBLIC_BASE_URL = 'http://localhost:3978';
export const TAB_AUDIENCE = `api://localhost:3978/${TAB_APP_ID}`;

export interface TabStack extends Stack {
  entra: EntraSimulator;
  /** A token as Teams' getAuthToken would give this person (override any claim). */
  tokenFor(
    user: TeamsUser,
    overrides?: Partial<EntraTokenClaims>,
    options?: Parameters<EntraSimulator['mintToken']>[1],
  ): Promise<string>;
  /** GET/POST the tab API as someone (or with no token when `token` is null). */
  api(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

let count = 0;

export function hostSettings(entra: EntraSimulator): LocalHostSettings {
  const people = [USERS.approver, USERS.requester, USERS.secondApprover, USERS.outsider].map((u) => ({
    key: u.id.slice(4),
    name: u.name,
    aadObjectId: u.aadObjectId,
    upn: u.userPrincipalName,
    tenantId: u.tenantId,
  }));
  return {
    entraUrl: entra.url,
    audience: TAB_AUDIENCE,
    people,
    places: [
      {
        key: 'incidents',
        label: 'Security Operations › Incidents',
        kind: 'channel',
        conversationId: TEAM.incidents.id,
        teamId: TEAM.id,
      },
      { key: 'bridge', label: 'Incident bridge (group chat)', kind: 'chat', conversationId: GROUP_CHAT.id },
      { key: 'mine', label: 'My requests (personal)', kind: 'personal' },
    ],
  };
}

let tabBuilt: Promise<unknown> | undefined;

export async function startTabStack(extraEnv: Record<string, string> = {}): Promise<TabStack> {
  // The page is served from the bundle in dist/tab: built once per test process from the current sources, so a clean
  // checkout works and a stale bundle is never tested.
  tabBuilt ??= buildTab();
  await tabBuilt;
  const { sim, teams } = await startTestServices();
  const entra = await startEntraSimulator();
  const prefix = `lrtest-tab-${process.pid}-${Date.now().toString(36)}-${count++}`;
  const env: Record<string, string> = {
    PORT: '0',
    PUBLIC_BASE_URL,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    DEFENDER_API_URL: sim.url,
    DEFENDER_ACCESS_TOKEN: 'sim-token',
    APPROVERS: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92,sam.oncall@contoso.com',
    ALLOWED_TENANT_IDS: USERS.requester.tenantId,
    TAB_SSO_APP_ID: TAB_APP_ID,
    TAB_SSO_AUTHORITY_HOST: entra.url,
    TEAMS_APP_ID: TAB_APP_ID,
    POLL_INTERVAL: '250ms',
    JOB_LOCK_DURATION: '3s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...extraEnv,
  };
  const redis = new Redis(REDIS_URL);
  const logger = createLogger(env.LOG_LEVEL ?? 'silent');
  const settings = hostSettings(entra);
  let app: RunningApp | undefined;
  const stack: TabStack = {
    sim,
    teams,
    entra,
    get app() {
      if (!app) throw new Error('bot not started');
      return app;
    },
    botUrl: '',
    prefix,
    env,
    redis,
    async stopBot() {
      await app?.close();
      app = undefined;
    },
    async startBot(more = {}) {
      Object.assign(env, more);
      app = await startApp(readConfig(env), {
        http: true,
        workers: true,
        logger,
        host: '127.0.0.1',
        localTabHost: (req) => renderLocalHostPage(settings, req.query as Record<string, unknown>),
      });
      stack.botUrl = `http://127.0.0.1:${app.port}`;
    },
    async close() {
      await app?.close().catch(() => undefined);
      await Promise.all([sim.close(), teams.close(), entra.close()]);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
    tokenFor(user, overrides = {}, options = {}) {
      return entra.mintToken(
        {
          oid: user.aadObjectId,
          tid: user.tenantId,
          name: user.name,
          upn: user.userPrincipalName,
          aud: TAB_AUDIENCE,
          ...overrides,
        },
        options,
      );
    },
    async api(method, path, token, body) {
      const response = await fetch(`${stack.botUrl}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: response.status,
        body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
      };
    },
  };
  await stack.startBot();
  return stack;
}

/** Debian's Chromium, headless, with a fresh profile; closed with the returned function. */
export async function launchChromium(
  viewport = { width: 1000, height: 760 },
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'lr-tab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
