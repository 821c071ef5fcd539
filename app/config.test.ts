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

  it('ends stuck requests after 1h unsubmitted, 3d Pending and 2h running by default, or as SUBMIT/PENDING/RUNNING_DEADLINE say', () => {
    expect(readConfig(minimal).deadlines).toEqual({
      submitMs: 3_600_000,
      pendingMs: 3 * 86_400_000,
      runningMs: 2 * 3_600_000,
      cardSendGraceMs: 30_000,
    });
    const custom = {
      ...minimal,
      SUBMIT_DEADLINE: '20m',
      PENDING_DEADLINE: '2h',
      RUNNING_DEADLINE: '45m',
      CARD_SEND_GRACE: '5s',
    };
    expect(readConfig(custom).deadlines).toEqual({
      submitMs: 20 * 60_000,
      pendingMs: 2 * 3_600_000,
      runningMs: 45 * 60_000,
      cardSendGraceMs: 5_000,
    });
    expect(problemsOf({ ...minimal, SUBMIT_DEADLINE: 'soon' }).join('\n')).toMatch(
      /SUBMIT_DEADLINE must be a duration/,
    );
  });

  it('reconciles every minute by default, at the RECONCILE_INTERVAL given, and refuses one too short to schedule', () => {
    expect(readConfig(minimal).reconcileIntervalMs).toBe(60_000);
    expect(readConfig({ ...minimal, RECONCILE_INTERVAL: '15s' }).reconcileIntervalMs).toBe(15_000);
    expect(problemsOf({ ...minimal, RECONCILE_INTERVAL: '50ms' }).join('\n')).toMatch(
      /RECONCILE_INTERVAL must be at least 100ms/,
    );
  });

  it('keeps follow-up pre-approval off by default; on, for FOLLOWUP_PREAPPROVAL_WINDOW (15 min by default)', () => {
    expect(readConfig(minimal).followUpPreApprovalMs).toBeNull();
    expect(readConfig({ ...minimal, FOLLOWUP_PREAPPROVAL: 'on' }).followUpPreApprovalMs).toBe(15 * 60_000);
    expect(
      readConfig({ ...minimal, FOLLOWUP_PREAPPROVAL: 'on', FOLLOWUP_PREAPPROVAL_WINDOW: '5m' })
        .followUpPreApprovalMs,
    ).toBe(5 * 60_000);
    expect(problemsOf({ ...minimal, FOLLOWUP_PREAPPROVAL: 'yes' }).join()).toMatch(
      /FOLLOWUP_PREAPPROVAL must be on or off/,
    );
    expect(
      problemsOf({ ...minimal, FOLLOWUP_PREAPPROVAL: 'on', FOLLOWUP_PREAPPROVAL_WINDOW: '2h' }).join(),
    ).toMatch(/FOLLOWUP_PREAPPROVAL_WINDOW must be more than 0 and at most APPROVAL_TIMEOUT \(30m\)/);
    // Off, the window is not read: a short APPROVAL_TIMEOUT (tests, demos) needs no window setting.
    expect(problemsOf({ ...minimal, APPROVAL_TIMEOUT: '2s' })).toEqual([]);
  });

  it('lets one request name 20 devices by default, FANOUT_MAX_DEVICES from 1 to 100', () => {
    expect(readConfig(minimal).approval.fanOutMaxDevices).toBe(20);
    expect(readConfig({ ...minimal, FANOUT_MAX_DEVICES: '50' }).approval.fanOutMaxDevices).toBe(50);
    expect(() => readConfig({ ...minimal, FANOUT_MAX_DEVICES: '0' })).toThrow(/FANOUT_MAX_DEVICES/);
    expect(() => readConfig({ ...minimal, FANOUT_MAX_DEVICES: '101' })).toThrow(/FANOUT_MAX_DEVICES/);
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

  it('accepts a registered bot with a secret, its tenant and an https public address', () => {
    const config = readConfig(registered);
    expect(config.bot).toMatchObject({ appId: APP_ID, appType: 'SingleTenant', appTenantId: TENANT });
    expect(config.publicBaseUrl).toBe('https://lrbot.contoso.com');
  });
});

const APP_ID = '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const registered = {
  ...minimal,
  MicrosoftAppId: APP_ID,
  MicrosoftAppPassword: 'bot-secret',
  MicrosoftAppTenantId: TENANT,
  PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
};

describe('bot registration', () => {
  it('defaults to SingleTenant', () => {
    expect(readConfig(minimal).bot.appType).toBe('SingleTenant');
    expect(readConfig(registered).bot.appType).toBe('SingleTenant');
  });

  it('requires the tenant id whenever an app id is set, whatever the app type', () => {
    for (const appType of ['SingleTenant', 'MultiTenant', 'UserAssignedMSI']) {
      const problems = problemsOf({
        ...registered,
        MicrosoftAppType: appType,
        MicrosoftAppTenantId: '',
        ALLOWED_TENANT_IDS: TENANT,
        ...(appType === 'UserAssignedMSI' ? { MicrosoftAppPassword: '' } : {}),
      });
      expect(problems.join('\n'), appType).toMatch(
        /MicrosoftAppTenantId is required \(a GUID\) when MicrosoftAppId is set/,
      );
    }
  });

  it('takes a user-assigned managed identity with its tenant and no password', () => {
    const config = readConfig({
      ...registered,
      MicrosoftAppType: 'UserAssignedMSI',
      MicrosoftAppPassword: '',
    });
    expect(config.bot.appType).toBe('UserAssignedMSI');
    expect(problemsOf({ ...registered, MicrosoftAppType: 'UserAssignedMSI' }).join()).toMatch(
      /MicrosoftAppPassword must be empty with MicrosoftAppType=UserAssignedMSI/,
    );
  });

  it('refuses MultiTenant without ALLOWED_TENANT_IDS, naming AADSTS700016 and the 31 July 2025 change', () => {
    const problem = problemsOf({ ...registered, MicrosoftAppType: 'MultiTenant' }).join('\n');
    expect(problem).toMatch(/^MicrosoftAppType is MultiTenant but ALLOWED_TENANT_IDS is empty/);
    expect(problem).toContain('AADSTS700016');
    expect(problem).toContain('31 July 2025');
    expect(problem).toContain('MicrosoftAppType=SingleTenant');
  });

  it('keeps MultiTenant for an older registration when the tenants are listed', () => {
    const config = readConfig({ ...registered, MicrosoftAppType: 'MultiTenant', ALLOWED_TENANT_IDS: TENANT });
    expect(config.bot.appType).toBe('MultiTenant');
    expect(config.allowedTenantIds).toEqual([TENANT]);
  });

  it('needs no tenant, password or public address in anonymous mode', () => {
    expect(readConfig(minimal).bot).toMatchObject({ appId: '', appTenantId: '' });
  });
});

describe('public address', () => {
  it('is required, and must be https, once an app id is set', () => {
    expect(problemsOf({ ...registered, PUBLIC_BASE_URL: '' }).join()).toMatch(
      /PUBLIC_BASE_URL is required when MicrosoftAppId is set/,
    );
    expect(problemsOf({ ...registered, PUBLIC_BASE_URL: 'http://lrbot.contoso.com' }).join()).toMatch(
      /PUBLIC_BASE_URL must be https when MicrosoftAppId is set/,
    );
  });

  it('defaults to localhost for local use', () => {
    expect(readConfig(minimal).publicBaseUrl).toBe('http://localhost:3978');
  });
});

describe('listening address', () => {
  it('is loopback without an app id, and a HOST elsewhere is refused', () => {
    expect(readConfig(minimal).host).toBe('127.0.0.1');
    expect(readConfig({ ...minimal, HOST: '::1' }).host).toBe('127.0.0.1');
    expect(problemsOf({ ...minimal, HOST: '0.0.0.0' }).join()).toMatch(
      /HOST cannot be "0.0.0.0" without MicrosoftAppId: anonymous mode .* loopback only/,
    );
  });

  it('is every interface with an app id, or HOST', () => {
    expect(readConfig(registered).host).toBe('0.0.0.0');
    expect(readConfig({ ...registered, HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
  });
});

describe('Bot Framework cloud', () => {
  it('uses the public Bot Framework by default', () => {
    const { cloud, channel } = readConfig(registered).bot;
    expect(cloud).toBe('public');
    expect(channel.ToBotFromChannelTokenIssuer).toBe('https://api.botframework.com');
    expect(channel.ToBotFromChannelOpenIdMetadataUrl).toBe(
      'https://login.botframework.com/v1/.well-known/openidconfiguration',
    );
  });

  it('gives GCC High (usgov) the botframework.azure.us channel settings', () => {
    const { channel } = readConfig({ ...registered, BOT_CLOUD: 'usgov' }).bot;
    expect(channel).toEqual({
      ChannelService: 'https://botframework.azure.us',
      OAuthUrl: 'https://tokengcch.botframework.azure.us/',
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
      ToChannelFromBotOAuthScope: 'https://api.botframework.us',
      ToBotFromChannelTokenIssuer: 'https://api.botframework.us',
      ToBotFromChannelOpenIdMetadataUrl:
        'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
      ToBotFromEmulatorOpenIdMetadataUrl:
        'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration',
      CallerId: 'urn:botframework:azureusgov',
    });
  });

  it('gives DoD its own token service and lets one endpoint be overridden', () => {
    const dod = readConfig({ ...registered, BOT_CLOUD: 'usgovdod' }).bot.channel;
    expect(dod.OAuthUrl).toBe('https://apiDoD.botframework.azure.us');
    expect(dod.ChannelService).toBe('https://botframework.azure.us');
    const overridden = readConfig({
      ...registered,
      BOT_CLOUD: 'usgov',
      ToBotFromChannelOpenIdMetadataUrl: 'https://keys.example.us/openid',
    }).bot.channel;
    expect(overridden.ToBotFromChannelOpenIdMetadataUrl).toBe('https://keys.example.us/openid');
    expect(overridden.ToBotFromChannelTokenIssuer).toBe('https://api.botframework.us');
  });

  it('names an unknown cloud', () => {
    expect(problemsOf({ ...minimal, BOT_CLOUD: 'gcchigh' }).join()).toMatch(
      /BOT_CLOUD must be public, usgov, usgovdod/,
    );
  });
});

describe('readConfig: operations settings', () => {
  it('defaults: 25 s shutdown, metrics on the bot port, no queue dashboard, audit to stdout kept 90 days', () => {
    expect(readConfig(minimal).ops).toEqual({
      shutdownTimeoutMs: 25_000,
      metricsPort: null,
      queueDashboard: null,
      audit: { sink: { kind: 'stdout' }, retentionMs: 90 * 86_400_000 },
    });
  });

  it('reads a metrics port, a file audit sink and a retention', () => {
    const ops = readConfig({
      ...minimal,
      METRICS_PORT: '9464',
      AUDIT_SINK: 'file:/var/log/lr-bot/audit.jsonl',
      AUDIT_RETENTION: '365d',
      SHUTDOWN_TIMEOUT: '1m',
    }).ops;
    expect(ops).toMatchObject({
      metricsPort: 9464,
      shutdownTimeoutMs: 60_000,
      audit: { sink: { kind: 'file', path: '/var/log/lr-bot/audit.jsonl' }, retentionMs: 365 * 86_400_000 },
    });
  });

  it('refuses a guessable queue dashboard password and names the setting', () => {
    expect(problemsOf({ ...minimal, QUEUE_DASHBOARD_PASSWORD: 'admin' }).join()).toMatch(
      /QUEUE_DASHBOARD_PASSWORD must be at least 24 characters/,
    );
    expect(readConfig({ ...minimal, QUEUE_DASHBOARD_PASSWORD: 'x'.repeat(24) }).ops.queueDashboard).toEqual({
      user: 'ops',
      password: 'x'.repeat(24),
    });
  });

  it('names a malformed audit sink, retention, shutdown timeout and metrics port', () => {
    const problems = problemsOf({
      ...minimal,
      AUDIT_SINK: 'syslog',
      AUDIT_RETENTION: 'forever',
      SHUTDOWN_TIMEOUT: 'soon',
      METRICS_PORT: 'http',
    }).join('\n');
    expect(problems).toMatch(/AUDIT_SINK must be stdout, file:<path> or off.*e\.g\. AUDIT_SINK=file:/);
    expect(problems).toMatch(/AUDIT_RETENTION must be a duration/);
    expect(problems).toMatch(/SHUTDOWN_TIMEOUT must be a duration/);
    expect(problems).toMatch(/METRICS_PORT must be a port number/);
  });
});
