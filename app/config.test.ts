import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.js';

const minimal = { APPROVERS: 'alex.lead@contoso.com', DEFENDER_ACCESS_TOKEN: 'sim-token' };

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('readConfig', () => {
  it('applies the contract defaults', () => {
    const config = readConfig(minimal);
    expect(config.port).toBe(3978);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.defender.apiUrl).toBe('https://api.securitycenter.microsoft.com');
    expect(config.defender.runRate).toEqual({ count: 10, durationMs: 60_000 });
    expect(config.defender.apiRates).toEqual([
      { count: 100, durationMs: 60_000 },
      { count: 1500, durationMs: 3_600_000 },
    ]);
    expect(config.defender.maxSessions).toBe(25);
    expect(config.approval.timeoutMs).toBe(30 * 60_000);
    expect(config.defender.auth).toEqual({ kind: 'token', accessToken: 'sim-token' });
    expect(config.bot.appId).toBe('');
  });

  it('stops when APPROVERS is missing and shows an example', () => {
    const problems = problemsOf({ DEFENDER_ACCESS_TOKEN: 'x' });
    expect(problems.join('\n')).toMatch(/APPROVERS is required.*e\.g\. APPROVERS=/);
  });

  it('names a malformed duration and rate', () => {
    const problems = problemsOf({ ...minimal, APPROVAL_TIMEOUT: '30 minutes', DEFENDER_RUN_RATE: 'ten' });
    expect(
      problems.some((p) => p.startsWith('APPROVAL_TIMEOUT') && p.includes('e.g. APPROVAL_TIMEOUT=30m')),
    ).toBe(true);
    expect(problems.some((p) => p.startsWith('DEFENDER_RUN_RATE'))).toBe(true);
  });

  it('requires MSAL credentials when no access token is given', () => {
    const problems = problemsOf({ APPROVERS: 'alex.lead@contoso.com' });
    expect(problems.some((p) => p.startsWith('DEFENDER_TENANT_ID'))).toBe(true);
    expect(problems.some((p) => p.startsWith('DEFENDER_CLIENT_ID'))).toBe(true);
    expect(problems.some((p) => p.startsWith('DEFENDER_CLIENT_SECRET'))).toBe(true);
  });

  it('accepts client-secret credentials', () => {
    const config = readConfig({
      APPROVERS: '3f2b8c1e-8a4d-4d5e-9c1f-2b7a6e0d4c11',
      DEFENDER_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      DEFENDER_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
      DEFENDER_CLIENT_SECRET: 's3cret',
    });
    expect(config.defender.auth.kind).toBe('secret');
  });

  it('refuses an approver that is neither a GUID nor a UPN', () => {
    expect(problemsOf({ ...minimal, APPROVERS: 'alex' }).join()).toMatch(/APPROVERS has "alex"/);
  });

  it('refuses plain http to a non-local Defender URL', () => {
    expect(
      problemsOf({ ...minimal, DEFENDER_API_URL: 'http://api.securitycenter.microsoft.com' }).join(),
    ).toMatch(/DEFENDER_API_URL must use https/);
    expect(readConfig({ ...minimal, DEFENDER_API_URL: 'http://127.0.0.1:4980' }).defender.apiUrl).toBe(
      'http://127.0.0.1:4980',
    );
  });

  it('asks for the Defender token of the cloud, not of the host: regional hosts share the commercial audience', () => {
    const scopeOf = (url: string) => readConfig({ ...minimal, DEFENDER_API_URL: url }).defender.scope;
    for (const host of [
      'api.securitycenter.microsoft.com',
      'api.security.microsoft.com',
      'eu.api.security.microsoft.com',
    ])
      expect(scopeOf(`https://${host}`)).toBe('https://api.securitycenter.microsoft.com/.default');
    expect(scopeOf('https://api-gcc.securitycenter.microsoft.us')).toBe(
      'https://api-gcc.securitycenter.microsoft.us/.default',
    );
    expect(scopeOf('https://api-gov.securitycenter.microsoft.us')).toBe(
      'https://api-gov.securitycenter.microsoft.us/.default',
    );
    const custom = 'https://securitycenter.onmicrosoft.com/windowsatpservice/.default';
    expect(readConfig({ ...minimal, DEFENDER_SCOPE: custom }).defender.scope).toBe(custom);
    expect(
      problemsOf({ ...minimal, DEFENDER_SCOPE: 'https://api.securitycenter.microsoft.com' }).join(),
    ).toMatch(/DEFENDER_SCOPE must be a resource followed by \/\.default/);
  });

  it('keeps DEFENDER_MAX_SESSIONS within the documented session limit', () => {
    expect(readConfig({ ...minimal, DEFENDER_MAX_SESSIONS: '50' }).defender.maxSessions).toBe(50);
    expect(problemsOf({ ...minimal, DEFENDER_MAX_SESSIONS: '51' }).join()).toMatch(
      /DEFENDER_MAX_SESSIONS must be a whole number from 1 to 50/,
    );
  });

  it('requires a password when an app id is set', () => {
    expect(problemsOf({ ...minimal, MicrosoftAppId: '00000000-0000-0000-0000-000000000001' }).join()).toMatch(
      /MicrosoftAppPassword is required/,
    );
  });

  it('lowercases approvers and tenants for comparison', () => {
    const config = readConfig({ ...minimal, APPROVERS: 'Alex.Lead@Contoso.com' });
    expect(config.approval.approvers).toEqual(['alex.lead@contoso.com']);
  });
});
