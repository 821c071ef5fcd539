import { describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { DEMO_APPROVERS, DemoSettingsError, demoBotEnv, readDemoSettings } from './demo-settings.js';

describe('readDemoSettings', () => {
  it('uses the documented ports and a watchable speed by default', () => {
    expect(readDemoSettings({})).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      botPort: 3978,
      simulatorPort: 4980,
      speedup: 10,
      playgroundPort: 56150,
      simulatorToken: 'sim-token',
    });
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
