import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import {
  DEMO_APPROVERS,
  DEMO_BOT,
  DEMO_PEOPLE,
  DEMO_PLACES,
  DEMO_TAB_APP_ID,
  DEMO_TENANT_ID,
  DemoSettingsError,
  demoBotEnv,
  PLAYGROUND_CONFIG_FILES,
  PLAYGROUND_USER,
  readDemoSettings,
} from './demo-settings.js';

describe('readDemoSettings', () => {
  it('uses the documented ports and a watchable speed by default', () => {
    expect(readDemoSettings({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      botPort: 3978,
      simulatorPort: 4980,
      speedup: 10,
      playgroundPort: 56150,
      simulatorToken: 'sim-token',
      role: 'requester',
    });
  });

  it('runs the page as the approver with --as-approver or DEMO_ROLE=approver', () => {
    expect(readDemoSettings({}, ['--as-approver']).role).toBe('approver');
    expect(readDemoSettings({ DEMO_ROLE: 'Approver' }).role).toBe('approver');
    expect(readDemoSettings({ DEMO_ROLE: 'requester' }).role).toBe('requester');
    expect(() => readDemoSettings({ DEMO_ROLE: 'lead' })).toThrow(/DEMO_ROLE must be requester or approver/);
    expect(() => readDemoSettings({}, ['--approver'])).toThrow(/--as-approver/);
  });

  it('takes ports, speed and token from the environment', () => {
    const settings = readDemoSettings({
      PORT: '4000',
      SIM_PORT: '5000',
      DEMO_SPEEDUP: '2.5',
      PLAYGROUND_PORT: '57000',
      DEFENDER_ACCESS_TOKEN: 'other-token',
    });
    expect(settings).toMatchObject({
      botPort: 4000,
      simulatorPort: 5000,
      speedup: 2.5,
      playgroundPort: 57000,
      simulatorToken: 'other-token',
    });
  });

  it('refuses a port the playground could not be told about', () => {
    expect(() => readDemoSettings({ PORT: '0' })).toThrow(DemoSettingsError);
    expect(() => readDemoSettings({ PLAYGROUND_PORT: 'abc' })).toThrow(/PLAYGROUND_PORT/);
    expect(() => readDemoSettings({ DEMO_SPEEDUP: '0.5' })).toThrow(/DEMO_SPEEDUP/);
  });
});

describe('demoBotEnv', () => {
  const settings = readDemoSettings({});

  it('configures an anonymous bot against the simulator, approved by the mock tenant leads', () => {
    const env = demoBotEnv({}, settings, 'http://127.0.0.1:4980');
    const config = readConfig(env);
    expect(config.bot.appId).toBe('');
    expect(config.defender.apiUrl).toBe('http://127.0.0.1:4980');
    expect(config.defender.auth).toEqual({ kind: 'token', accessToken: 'sim-token' });
    expect(config.approval.approvers).toEqual(DEMO_APPROVERS.map((approver) => approver.aadObjectId));
    expect(config.redis.prefix).toBe('lr-demo');
    expect(config.pollIntervalMs).toBe(2_000);
    expect(config.logLevel).toBe('warn');
    expect(config.port).toBe(3978);
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:3978');
  });

  it('lets whatever the user set win, but not empty values', () => {
    const env = demoBotEnv(
      { LOG_LEVEL: 'debug', REDIS_PREFIX: 'mine', POLL_INTERVAL: '' },
      settings,
      'http://127.0.0.1:4980',
    );
    expect(env.LOG_LEVEL).toBe('debug');
    expect(env.REDIS_PREFIX).toBe('mine');
    expect(env.POLL_INTERVAL).toBe('2s');
  });
});

describe('demoBotEnv with the local Entra simulator', () => {
  it("turns on the tab's sign-in against it and keeps card downloads in the browser", () => {
    const config = readConfig(
      demoBotEnv({}, readDemoSettings({}), 'http://127.0.0.1:4980', 'http://127.0.0.1:4990'),
    );
    expect(config.tab).toMatchObject({
      ssoAppId: DEMO_TAB_APP_ID,
      authorityHost: 'http://127.0.0.1:4990',
      downloadMode: 'bearer',
    });
  });
});

describe('the Playground configs', () => {
  // The Playground's schema 0.1.1: exactly five `users` besides `currentUser`, the key spelled `userPrincipleName`.
  function people(file: string): { current: Record<string, string>; users: Record<string, string>[] } {
    const text = readFileSync(join(import.meta.dirname, '..', file), 'utf8');
    const block = (start: string, end: string) => text.slice(text.indexOf(start), text.indexOf(end));
    const fields = (chunk: string) =>
      Object.fromEntries([...chunk.matchAll(/^\s*-?\s*(\w+): (.+)$/gm)].map((m) => [m[1], m[2]!.trim()]));
    return {
      current: fields(block('currentUser:', 'users:')),
      users: block('users:', 'personalChat:')
        .split(/^ {2}- /m)
        .slice(1)
        .map(fields),
    };
  }

  it.each(Object.entries(PLAYGROUND_CONFIG_FILES))(
    "%s: the page user and five others, all of the demo's people",
    (role, file) => {
      const { current, users } = people(file);
      expect(users).toHaveLength(5);
      const everyone = [current, ...users];
      for (const person of everyone) expect(Object.keys(person)).toContain('userPrincipleName');
      expect(
        everyone.map((p) => ({
          teamsId: p.id,
          name: p.name,
          aadObjectId: p.aadObjectId,
          upn: p.userPrincipleName,
        })),
      ).toEqual(expect.arrayContaining([...DEMO_PEOPLE]));
      expect(current.id).toBe(PLAYGROUND_USER[role as keyof typeof PLAYGROUND_USER].teamsId);
      const text = readFileSync(join(import.meta.dirname, '..', file), 'utf8');
      for (const value of [
        DEMO_TENANT_ID,
        DEMO_BOT.id,
        DEMO_PLACES.groupChat.id,
        DEMO_PLACES.channel.id,
        DEMO_PLACES.team.id,
      ])
        expect(text).toContain(value);
    },
  );

  it("makes the approver config's page user one of the APPROVERS", () => {
    expect(DEMO_APPROVERS.map((a) => a.teamsId)).toContain(PLAYGROUND_USER.approver.teamsId);
    expect(DEMO_APPROVERS.map((a) => a.teamsId)).not.toContain(PLAYGROUND_USER.requester.teamsId);
  });
});
