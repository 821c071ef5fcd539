// Reads and validates the environment once into a typed Config; a bad setting stops start-up with its name and an example.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration, parseRates, type Rate } from '../core/durations.js';
import type { StateDeadlines } from '../core/request-deadlines.js';
import { DEFAULT_TEAMS_THREAD_RATE } from '../core/teams-limits.js';
import { defenderScopeFor } from '../defender/token-provider.js';
import { ON_CALL_SETTINGS, type OnCallConfig, readOnCallConfig } from './on-call-config.js';
import { OPS_SETTINGS, type OpsConfig, readOpsConfig } from './ops-config.js';
import { describeRedis, REDIS_SETTINGS, type RedisConfig, readRedisConfig } from './redis-config.js';
import { GUID, settingsReader } from './settings.js';

/** Bot Framework clouds with built-in channel settings. */
const BOT_CLOUDS = ['public', 'usgov', 'usgovdod'] as const;
export type BotCloud = (typeof BOT_CLOUDS)[number];

/** The Bot Framework channel endpoints, named as botbuilder's ConfigurationBotFrameworkAuthentication options. */
export interface BotChannelSettings {
  ChannelService: string;
  /** Bot Framework token service (user sign-in); the bot does not use it today, but botbuilder wants it per cloud. */
  OAuthUrl: string;
  /** Where the bot signs in to call the channel (its tenant replaces the default one for SingleTenant bots). */
  ToChannelFromBotLoginUrl: string;
  /** Audience of the bot's token for the channel. */
  ToChannelFromBotOAuthScope: string;
  /** Issuer of the channel's tokens the bot accepts. */
  ToBotFromChannelTokenIssuer: string;
  /** Keys that sign the channel's tokens. */
  ToBotFromChannelOpenIdMetadataUrl: string;
  ToBotFromEmulatorOpenIdMetadataUrl: string;
  /** Stamped on incoming activities as `callerId`. */
  CallerId: string;
}

/**
 * Per cloud. Public: botframework-connector 4.23's AuthenticationConstants (what botbuilder uses when nothing is
 * set). US Government: Microsoft's "Configure Bot Framework bots for US Government customers"
 * (learn.microsoft.com/azure/bot-service/how-to-deploy-gov-cloud-high), GCC High and DoD sections; GCC (moderate)
 * tenants use the public cloud's Bot Framework.
 */
const BOT_CHANNEL_PRESETS: Record<BotCloud, BotChannelSettings> = {
  public: {
    ChannelService: '',
    OAuthUrl: 'https://api.botframework.com',
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    ToBotFromEmulatorOpenIdMetadataUrl:
      'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azure',
  },
  usgov: {
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
  },
  usgovdod: {
    ChannelService: 'https://botframework.azure.us',
    OAuthUrl: 'https://apiDoD.botframework.azure.us',
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
    ToChannelFromBotOAuthScope: 'https://api.botframework.us',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.us',
    ToBotFromChannelOpenIdMetadataUrl:
      'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    ToBotFromEmulatorOpenIdMetadataUrl:
      'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration',
    CallerId: 'urn:botframework:azureusgov',
  },
};

export interface Config {
  port: number;
  /**
   * Address the HTTP server binds. Without an app id always loopback (anonymous mode processes unsigned activities,
   * so only this machine may send them); with one `HOST`, default all interfaces.
   */
  host: string;
  /** Base URL users' browsers reach the bot on (download links, the manifest's pages). https once an app id is set. */
  publicBaseUrl: string;
  bot: {
    appId: string;
    appPassword: string;
    /** Default SingleTenant: Microsoft creates no new multi-tenant bots since 31 July 2025. */
    appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
    appTenantId: string;
    /** `BOT_CLOUD`, default `public`. */
    cloud: BotCloud;
    /** That cloud's channel endpoints with any individual overrides. */
    channel: BotChannelSettings;
  };
  /** Standalone or cluster, TLS, credentials and key prefix (see redis-config.ts for each default). */
  redis: RedisConfig;
  defender: {
    apiUrl: string;
    /** Token scope (`DEFENDER_SCOPE`): the cloud's WindowsDefenderATP resource + `/.default`. Default derived from apiUrl. */
    scope: string;
    auth:
      | { kind: 'token'; accessToken: string }
      | { kind: 'secret'; tenantId: string; clientId: string; clientSecret: string; authorityHost: string }
      | {
          kind: 'certificate';
          tenantId: string;
          clientId: string;
          certificatePem: string;
          authorityHost: string;
        };
    runRate: Rate;
    apiRates: Rate[];
    maxSessions: number;
    timeoutMs: number;
  };
  approval: {
    /** The people (object ids/UPNs, lower-cased) listed in APPROVERS; group/tag/shifts entries are in `onCall`. */
    approvers: string[];
    allowSelfApproval: boolean;
    timeoutMs: number;
    /** FANOUT_MAX_DEVICES: the most devices one request may name (`on a, b, c`) or one tag may hold. Default 20. */
    fanOutMaxDevices: number;
  };
  /** Approver tiers with their group/tag/shifts sources, escalation and Microsoft Graph (see on-call-config.ts). */
  onCall: OnCallConfig;
  allowedTenantIds: string[];
  pollIntervalMs: number;
  /**
   * FOLLOWUP_PREAPPROVAL=on: a finished request's approver may approve its "Collect <file>" follow-ups in advance, for
   * FOLLOWUP_PREAPPROVAL_WINDOW (default 15m). Null when off (the default): every follow-up waits for a decision.
   */
  followUpPreApprovalMs: number | null;
  /** Card operations per conversation thread (Teams counts sends and updates). */
  teamsThreadRates: Rate[];
  jobLockMs: number;
  /**
   * How often the reconciler looks for requests whose state has no job behind it (a crash between a write and its
   * job, a Redis failover that lost the last writes) and puts the job back. Default `1m`.
   */
  reconcileIntervalMs: number;
  /**
   * How long a request may stay in each unfinished state before the reconciler ends it: `submitMs` from approval until
   * Defender accepts it (SUBMIT_DEADLINE, default `1h`; ended "Could not be submitted…" once no action of it exists),
   * `pendingMs` Pending on an offline device (PENDING_DEADLINE, default `3d`, Defender's longest documented queue) and
   * `runningMs` InProgress (RUNNING_DEADLINE, default `2h`); both cancelled in Defender. `cardSendGraceMs`
   * (CARD_SEND_GRACE, default `30s`): an undecided request whose card was never recorded is withdrawn after it.
   */
  deadlines: StateDeadlines;
  /** The Teams tab: single sign-on and evidence downloads. */
  tab: {
    /** Entra app (client) id the tab's SSO tokens are issued for; empty = no SSO, the tab API answers 503. Default MicrosoftAppId. */
    ssoAppId: string;
    /** Where Entra ID signs people in (issuer and signing keys come from here). Default https://login.microsoftonline.com. */
    authorityHost: string;
    /** `sso`: download buttons open the tab, files need sign-in (default once SSO is configured); `bearer`: the link itself is the key. */
    downloadMode: 'sso' | 'bearer';
    /** Teams app id (the manifest's `id`) for deep links into the tab. Default MicrosoftAppId. */
    teamsAppId: string;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Shutdown, metrics, queue dashboard and audit sink (see ops-config.ts for each default). */
  ops: OpsConfig;
}

/** Every setting with its default and an example: the single place defaults live. */
export const SETTINGS = {
  PORT: { default: '3978', example: '3978' },
  HOST: { default: '', example: '0.0.0.0' },
  PUBLIC_BASE_URL: { default: '', example: 'https://lrbot.contoso.com' },
  MicrosoftAppId: { default: '', example: '00000000-0000-0000-0000-000000000000' },
  MicrosoftAppPassword: { default: '', example: '<client secret of the bot registration>' },
  MicrosoftAppType: { default: 'SingleTenant', example: 'SingleTenant' },
  MicrosoftAppTenantId: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  BOT_CLOUD: { default: 'public', example: 'usgov' },
  // Each overrides one endpoint of BOT_CLOUD's preset (names as in Microsoft's Bot Framework docs).
  ChannelService: { default: '', example: 'https://botframework.azure.us' },
  OAuthUrl: { default: '', example: 'https://tokengcch.botframework.azure.us/' },
  ToChannelFromBotLoginUrl: {
    default: '',
    example: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
  },
  ToChannelFromBotOAuthScope: { default: '', example: 'https://api.botframework.us' },
  ToBotFromChannelTokenIssuer: { default: '', example: 'https://api.botframework.us' },
  ToBotFromChannelOpenIdMetadataUrl: {
    default: '',
    example: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
  },
  ToBotFromEmulatorOpenIdMetadataUrl: {
    default: '',
    example:
      'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration',
  },
  ...REDIS_SETTINGS,
  DEFENDER_API_URL: {
    default: 'https://api.securitycenter.microsoft.com',
    example: 'https://api.security.microsoft.com',
  },
  // Empty = the cloud's own resource for DEFENDER_API_URL (defenderScopeFor): regional hosts share the commercial one.
  DEFENDER_SCOPE: { default: '', example: 'https://api.securitycenter.microsoft.com/.default' },
  DEFENDER_TENANT_ID: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  DEFENDER_CLIENT_ID: { default: '', example: '11111111-2222-3333-4444-555555555555' },
  DEFENDER_CLIENT_SECRET: { default: '', example: '<client secret>' },
  DEFENDER_CLIENT_CERTIFICATE_PATH: { default: '', example: '/etc/lrbot/defender-app.pem' },
  DEFENDER_AUTHORITY_HOST: {
    default: 'https://login.microsoftonline.com',
    example: 'https://login.microsoftonline.us',
  },
  DEFENDER_ACCESS_TOKEN: { default: '', example: '<bearer token, for simulators and tests>' },
  DEFENDER_RUN_RATE: { default: '10/1m', example: '10/1m' },
  DEFENDER_API_RATE: { default: '100/1m,1500/1h', example: '100/1m,1500/1h' },
  DEFENDER_MAX_SESSIONS: { default: '25', example: '25' },
  DEFENDER_TIMEOUT: { default: '15s', example: '15s' },
  APPROVERS: {
    default: '',
    example: '3f2b8c1e-8a4d-4d5e-9c1f-2b7a6e0d4c11,alex.lead@contoso.com,shifts:SOC Tier 1',
  },
  ALLOW_SELF_APPROVAL: { default: 'false', example: 'false' },
  ALLOWED_TENANT_IDS: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  APPROVAL_TIMEOUT: { default: '30m', example: '30m' },
  FANOUT_MAX_DEVICES: { default: '20', example: '20' },
  POLL_INTERVAL: { default: '5s', example: '5s' },
  TEAMS_THREAD_RATE: { default: DEFAULT_TEAMS_THREAD_RATE, example: DEFAULT_TEAMS_THREAD_RATE },
  JOB_LOCK_DURATION: { default: '30s', example: '30s' },
  RECONCILE_INTERVAL: { default: '1m', example: '1m' },
  SUBMIT_DEADLINE: { default: '1h', example: '1h' },
  PENDING_DEADLINE: { default: '3d', example: '3d' },
  RUNNING_DEADLINE: { default: '2h', example: '2h' },
  CARD_SEND_GRACE: { default: '30s', example: '30s' },
  LOG_LEVEL: { default: 'info', example: 'info' },
  FOLLOWUP_PREAPPROVAL: { default: 'off', example: 'off' },
  FOLLOWUP_PREAPPROVAL_WINDOW: { default: '15m', example: '15m' },
  ...OPS_SETTINGS,
  ...ON_CALL_SETTINGS,
  TAB_SSO_APP_ID: { default: '', example: '00000000-0000-0000-0000-000000000000' },
  TAB_SSO_AUTHORITY_HOST: {
    default: 'https://login.microsoftonline.com',
    example: 'https://login.microsoftonline.us',
  },
  DOWNLOAD_MODE: { default: '', example: 'sso' },
  TEAMS_APP_ID: { default: '', example: '00000000-0000-0000-0000-000000000000' },
} as const;

type SettingName = keyof typeof SETTINGS;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `env` (default `process.env`) and returns a validated Config, or throws ConfigError listing every problem. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const { get, bad } = settingsReader(SETTINGS, env, problems);

  const duration = (name: SettingName): number => {
    const ms = parseDuration(get(name));
    if (ms === null) bad(name, `must be a duration like 500ms, 10s, 1m or 1h (got "${get(name)}")`);
    return ms ?? 0;
  };
  const rates = (name: SettingName): Rate[] => {
    const value = parseRates(get(name));
    if (value === null) bad(name, `must be count/duration, comma-separated (got "${get(name)}")`);
    return value ?? [];
  };
  const integer = (name: SettingName, min: number, max: number): number => {
    const n = Number(get(name));
    if (!Number.isInteger(n) || n < min || n > max)
      bad(name, `must be a whole number from ${min} to ${max} (got "${get(name)}")`);
    return n;
  };
  const url = (name: SettingName, protocols: string[]): string => {
    const value = get(name).replace(/\/+$/, '');
    const parsed = z.string().url().safeParse(value);
    const protocol = parsed.success ? new URL(value).protocol : '';
    if (!parsed.success || !protocols.includes(protocol))
      bad(name, `must be a ${protocols.join(' or ')} URL (got "${value}")`);
    return value;
  };
  const flag = (name: SettingName): boolean => {
    const value = get(name).toLowerCase();
    if (!['true', 'false', '1', '0', 'yes', 'no'].includes(value)) bad(name, 'must be true or false');
    return ['true', '1', 'yes'].includes(value);
  };
  const list = (name: SettingName): string[] =>
    get(name)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);

  // 0 = any free port (tests).
  const port = integer('PORT', 0, 65535);

  const appType = get('MicrosoftAppType');
  if (!['MultiTenant', 'SingleTenant', 'UserAssignedMSI'].includes(appType))
    bad('MicrosoftAppType', 'must be SingleTenant, UserAssignedMSI or MultiTenant');
  const appId = get('MicrosoftAppId');
  const appTenantId = get('MicrosoftAppTenantId');
  if (appId && !GUID.test(appId)) bad('MicrosoftAppId', 'must be the bot registration GUID');
  if (appId && appType !== 'UserAssignedMSI' && !get('MicrosoftAppPassword'))
    bad('MicrosoftAppPassword', 'is required when MicrosoftAppId is set');
  // botbuilder refuses a managed identity with a password at start-up, and one without its tenant too.
  if (appId && appType === 'UserAssignedMSI' && get('MicrosoftAppPassword'))
    bad(
      'MicrosoftAppPassword',
      'must be empty with MicrosoftAppType=UserAssignedMSI (the managed identity signs in)',
    );
  if (appId && !GUID.test(appTenantId))
    bad(
      'MicrosoftAppTenantId',
      `is required (a GUID) when MicrosoftAppId is set, whatever the MicrosoftAppType: the bot registration's tenant`,
    );
  if (appId && appType === 'MultiTenant' && list('ALLOWED_TENANT_IDS').length === 0)
    bad(
      'MicrosoftAppType',
      'is MultiTenant but ALLOWED_TENANT_IDS is empty: any tenant could then read device names through the bot. ' +
        'Microsoft creates no new multi-tenant bots since 31 July 2025 (a newer registration fails every reply with AADSTS700016): ' +
        'use MicrosoftAppType=SingleTenant with MicrosoftAppTenantId, or keep MultiTenant for an older registration and list the tenants in ALLOWED_TENANT_IDS',
    );

  const cloudName = get('BOT_CLOUD').toLowerCase();
  const isCloud = (value: string): value is BotCloud => (BOT_CLOUDS as readonly string[]).includes(value);
  if (!isCloud(cloudName))
    bad('BOT_CLOUD', `must be ${BOT_CLOUDS.join(', ')} (public also serves GCC; usgov is GCC High)`);
  const cloud: BotCloud = isCloud(cloudName) ? cloudName : 'public';
  const channel = { ...BOT_CHANNEL_PRESETS[cloud] };
  for (const name of [
    'ChannelService',
    'OAuthUrl',
    'ToChannelFromBotLoginUrl',
    'ToChannelFromBotOAuthScope',
    'ToBotFromChannelTokenIssuer',
    'ToBotFromChannelOpenIdMetadataUrl',
    'ToBotFromEmulatorOpenIdMetadataUrl',
  ] as const)
    if (get(name)) channel[name] = url(name, ['https:', 'http:']);

  const host = get('HOST');
  const loopback = ['127.0.0.1', '::1', 'localhost'];
  if (!appId && host && !loopback.includes(host))
    bad(
      'HOST',
      `cannot be "${host}" without MicrosoftAppId: anonymous mode processes unsigned activities, so it listens on loopback only. Set MicrosoftAppId (and its credentials) to listen on the network`,
    );

  const redis = readRedisConfig(env, problems);

  const apiUrl = url('DEFENDER_API_URL', ['https:', 'http:']);
  if (apiUrl.startsWith('http:') && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(apiUrl))
    bad('DEFENDER_API_URL', 'must use https (plain http is only for a local simulator)');
  const scope = get('DEFENDER_SCOPE') || defenderScopeFor(apiUrl);
  if (!/^(https:\/\/[^\s/?#]+(\/[^\s?#]*)?|[0-9a-f-]{36})\/\.default$/i.test(scope))
    bad('DEFENDER_SCOPE', `must be a resource followed by /.default (got "${scope}")`);

  const accessToken = get('DEFENDER_ACCESS_TOKEN');
  const tenantId = get('DEFENDER_TENANT_ID');
  const clientId = get('DEFENDER_CLIENT_ID');
  const clientSecret = get('DEFENDER_CLIENT_SECRET');
  const certificatePath = get('DEFENDER_CLIENT_CERTIFICATE_PATH');
  const authorityHost = url('DEFENDER_AUTHORITY_HOST', ['https:']);
  let auth: Config['defender']['auth'] = { kind: 'token', accessToken };
  if (!accessToken) {
    if (!tenantId || !GUID.test(tenantId))
      bad('DEFENDER_TENANT_ID', 'is required (a GUID) unless DEFENDER_ACCESS_TOKEN is set');
    if (!clientId || !GUID.test(clientId))
      bad('DEFENDER_CLIENT_ID', 'is required (a GUID) unless DEFENDER_ACCESS_TOKEN is set');
    if (clientSecret) {
      auth = { kind: 'secret', tenantId, clientId, clientSecret, authorityHost };
    } else if (certificatePath) {
      let certificatePem = '';
      try {
        certificatePem = readFileSync(certificatePath, 'utf8');
      } catch {
        bad(
          'DEFENDER_CLIENT_CERTIFICATE_PATH',
          `must name a readable PEM file (could not read "${certificatePath}")`,
        );
      }
      auth = { kind: 'certificate', tenantId, clientId, certificatePem, authorityHost };
    } else {
      bad(
        'DEFENDER_CLIENT_SECRET',
        'or DEFENDER_CLIENT_CERTIFICATE_PATH is required unless DEFENDER_ACCESS_TOKEN is set',
      );
    }
  }

  const runRates = rates('DEFENDER_RUN_RATE');
  if (runRates.length > 1) bad('DEFENDER_RUN_RATE', 'takes a single count/duration');

  if (list('APPROVERS').length === 0)
    bad(
      'APPROVERS',
      'is required: comma-separated Entra object ids, UPNs, group:<object id>, tag:<name> or shifts:<name>',
    );
  const approvalTimeoutMs = duration('APPROVAL_TIMEOUT');
  const reconcileIntervalMs = duration('RECONCILE_INTERVAL');
  if (reconcileIntervalMs < 100 && parseDuration(get('RECONCILE_INTERVAL')) !== null)
    bad('RECONCILE_INTERVAL', `must be at least 100ms (got "${get('RECONCILE_INTERVAL')}")`);
  const onCall = readOnCallConfig(env, problems, {
    approvalTimeoutMs,
    bot: { appId, appPassword: get('MicrosoftAppPassword'), appTenantId },
  });
  const approvers = (onCall.tiers[0] ?? []).flatMap((s) => (s.kind === 'person' ? [s.id] : []));

  const allowedTenantIds = list('ALLOWED_TENANT_IDS');
  for (const id of allowedTenantIds)
    if (!GUID.test(id)) bad('ALLOWED_TENANT_IDS', `has "${id}", which is not a tenant id (GUID)`);

  const ssoAppId = get('TAB_SSO_APP_ID') || appId;
  if (ssoAppId && !GUID.test(ssoAppId)) bad('TAB_SSO_APP_ID', 'must be the Entra app (client) id, a GUID');
  const ssoAuthority = url('TAB_SSO_AUTHORITY_HOST', ['https:', 'http:']);
  if (ssoAuthority.startsWith('http:') && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(ssoAuthority))
    bad('TAB_SSO_AUTHORITY_HOST', 'must use https (plain http is only for the local Entra simulator)');
  const downloadMode = get('DOWNLOAD_MODE') || (ssoAppId ? 'sso' : 'bearer');
  if (downloadMode !== 'sso' && downloadMode !== 'bearer') bad('DOWNLOAD_MODE', 'must be sso or bearer');
  if (downloadMode === 'sso' && !ssoAppId)
    bad('DOWNLOAD_MODE', 'sso needs TAB_SSO_APP_ID (or MicrosoftAppId) for sign-in');

  const followUpPreApproval = (): number | null => {
    const mode = get('FOLLOWUP_PREAPPROVAL').toLowerCase();
    if (mode !== 'on' && mode !== 'off') bad('FOLLOWUP_PREAPPROVAL', `must be on or off (got "${mode}")`);
    if (mode !== 'on') return null;
    const windowMs = duration('FOLLOWUP_PREAPPROVAL_WINDOW');
    // A pre-approval outliving the approval timeout would approve more than a card ever could.
    if (
      parseDuration(get('FOLLOWUP_PREAPPROVAL_WINDOW')) !== null &&
      (windowMs <= 0 || windowMs > approvalTimeoutMs)
    )
      bad(
        'FOLLOWUP_PREAPPROVAL_WINDOW',
        `must be more than 0 and at most APPROVAL_TIMEOUT (${get('APPROVAL_TIMEOUT')})`,
      );
    return windowMs;
  };

  const logLevel = get('LOG_LEVEL');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const isLevel = (value: string): value is Config['logLevel'] =>
    (levels as readonly string[]).includes(value);
  if (!isLevel(logLevel)) bad('LOG_LEVEL', `must be one of ${levels.join(', ')}`);

  // Teams users open download links and the manifest's pages from their own machines: with a registered bot a
  // localhost default would point them at their own computer.
  if (appId && !get('PUBLIC_BASE_URL'))
    bad(
      'PUBLIC_BASE_URL',
      'is required when MicrosoftAppId is set: the https address Teams users reach the bot on',
    );
  const publicBaseUrl = get('PUBLIC_BASE_URL')
    ? url('PUBLIC_BASE_URL', ['https:', 'http:'])
    : `http://localhost:${Number.isInteger(port) ? port : 3978}`;
  if (appId && publicBaseUrl.startsWith('http:'))
    bad('PUBLIC_BASE_URL', `must be https when MicrosoftAppId is set (got "${publicBaseUrl}")`);

  const config: Config = {
    port,
    host: appId ? host || '0.0.0.0' : '127.0.0.1',
    publicBaseUrl,
    bot: {
      appId,
      appPassword: get('MicrosoftAppPassword'),
      appType: appType as Config['bot']['appType'],
      appTenantId,
      cloud,
      channel,
    },
    redis,
    defender: {
      apiUrl,
      scope,
      auth,
      runRate: runRates[0] ?? { count: 10, durationMs: 60_000 },
      apiRates: rates('DEFENDER_API_RATE'),
      // runliveresponse's Limitations: 25 concurrently running sessions on the older page, 50 on the current one. The
      // default keeps the stricter 25; 50 is accepted for a tenant known to run the current limit, more never is.
      maxSessions: integer('DEFENDER_MAX_SESSIONS', 1, 50),
      timeoutMs: duration('DEFENDER_TIMEOUT'),
    },
    approval: {
      approvers,
      allowSelfApproval: flag('ALLOW_SELF_APPROVAL'),
      timeoutMs: approvalTimeoutMs,
      // One card holds this many device rows within 28 KB (cards/fan-out-card.ts); past 100 it summarises.
      fanOutMaxDevices: integer('FANOUT_MAX_DEVICES', 1, 100),
    },
    onCall,
    allowedTenantIds: allowedTenantIds.map((id) => id.toLowerCase()),
    pollIntervalMs: duration('POLL_INTERVAL'),
    followUpPreApprovalMs: followUpPreApproval(),
    teamsThreadRates: rates('TEAMS_THREAD_RATE'),
    jobLockMs: duration('JOB_LOCK_DURATION'),
    reconcileIntervalMs,
    deadlines: {
      submitMs: duration('SUBMIT_DEADLINE'),
      pendingMs: duration('PENDING_DEADLINE'),
      runningMs: duration('RUNNING_DEADLINE'),
      cardSendGraceMs: duration('CARD_SEND_GRACE'),
    },
    tab: {
      ssoAppId: ssoAppId.toLowerCase(),
      authorityHost: ssoAuthority,
      downloadMode: downloadMode === 'sso' ? 'sso' : 'bearer',
      teamsAppId: get('TEAMS_APP_ID') || appId || ssoAppId,
    },
    logLevel: isLevel(logLevel) ? logLevel : 'info',
    ops: readOpsConfig(env, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A copy safe to log: secrets replaced. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    port: config.port,
    host: config.host,
    publicBaseUrl: config.publicBaseUrl,
    botAppId: config.bot.appId || '(anonymous, local only)',
    botAppType: config.bot.appId ? config.bot.appType : undefined,
    botCloud: config.bot.cloud,
    redis: describeRedis(config.redis),
    redisPrefix: config.redis.prefix,
    defenderApiUrl: config.defender.apiUrl,
    defenderScope: config.defender.scope,
    defenderAuth: config.defender.auth.kind,
    runRate: config.defender.runRate,
    apiRates: config.defender.apiRates,
    maxSessions: config.defender.maxSessions,
    approvers: config.approval.approvers.length,
    approverSources: config.onCall.tiers.map((tier) => tier.length),
    escalateAfterMs: config.onCall.escalateAfterMs,
    graph: config.onCall.graph
      ? { apiUrl: config.onCall.graph.apiUrl, auth: config.onCall.graph.auth.kind }
      : null,
    approvalTimeoutMs: config.approval.timeoutMs,
    pollIntervalMs: config.pollIntervalMs,
  };
}
