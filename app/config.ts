// Reads and validates the environment once into a typed Config; a bad setting stops start-up with its name and an example.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration, parseRates, type Rate } from '../core/durations.js';
import { defenderScopeFor } from '../defender/token-provider.js';

export interface Config {
  port: number;
  /** Base URL users' browsers reach the bot on (download links). */
  publicBaseUrl: string;
  bot: {
    appId: string;
    appPassword: string;
    appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
    appTenantId: string;
  };
  redis: { url: string; prefix: string };
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
    approvers: string[];
    allowSelfApproval: boolean;
    timeoutMs: number;
  };
  allowedTenantIds: string[];
  pollIntervalMs: number;
  /** Card operations per conversation thread (Teams counts sends and updates). */
  teamsThreadRates: Rate[];
  jobLockMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Every setting with its default and an example: the single place defaults live. */
export const SETTINGS = {
  PORT: { default: '3978', example: '3978' },
  PUBLIC_BASE_URL: { default: '', example: 'https://lrbot.contoso.com' },
  MicrosoftAppId: { default: '', example: '00000000-0000-0000-0000-000000000000' },
  MicrosoftAppPassword: { default: '', example: '<client secret of the bot registration>' },
  MicrosoftAppType: { default: 'MultiTenant', example: 'SingleTenant' },
  MicrosoftAppTenantId: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  REDIS_URL: { default: 'redis://127.0.0.1:6379', example: 'redis://127.0.0.1:6379/0' },
  REDIS_PREFIX: { default: 'lr', example: 'lr' },
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
  APPROVERS: { default: '', example: '3f2b8c1e-8a4d-4d5e-9c1f-2b7a6e0d4c11,alex.lead@contoso.com' },
  ALLOW_SELF_APPROVAL: { default: 'false', example: 'false' },
  ALLOWED_TENANT_IDS: { default: '', example: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  APPROVAL_TIMEOUT: { default: '30m', example: '30m' },
  POLL_INTERVAL: { default: '5s', example: '5s' },
  TEAMS_THREAD_RATE: { default: '3/1s,50/30s', example: '3/1s,50/30s' },
  JOB_LOCK_DURATION: { default: '30s', example: '30s' },
  LOG_LEVEL: { default: 'info', example: 'info' },
} as const;

type SettingName = keyof typeof SETTINGS;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UPN = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** Reads `env` (default `process.env`) and returns a validated Config, or throws ConfigError listing every problem. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const get = (name: SettingName): string => (env[name] ?? '').trim() || SETTINGS[name].default;
  const bad = (name: SettingName, what: string): void => {
    problems.push(`${name} ${what}, e.g. ${name}=${SETTINGS[name].example}`);
  };

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
    bad('MicrosoftAppType', 'must be MultiTenant, SingleTenant or UserAssignedMSI');
  const appId = get('MicrosoftAppId');
  if (appId && !GUID.test(appId)) bad('MicrosoftAppId', 'must be the bot registration GUID');
  if (appId && appType !== 'UserAssignedMSI' && !get('MicrosoftAppPassword'))
    bad('MicrosoftAppPassword', 'is required when MicrosoftAppId is set');
  if (appType === 'SingleTenant' && !get('MicrosoftAppTenantId'))
    bad('MicrosoftAppTenantId', 'is required when MicrosoftAppType=SingleTenant');

  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const redisPrefix = get('REDIS_PREFIX');
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(redisPrefix)) bad('REDIS_PREFIX', 'must be letters, digits, _ . : -');

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

  const approvers = list('APPROVERS');
  if (approvers.length === 0) bad('APPROVERS', 'is required: comma-separated Entra object ids and/or UPNs');
  for (const approver of approvers)
    if (!GUID.test(approver) && !UPN.test(approver))
      bad('APPROVERS', `has "${approver}", which is neither an Entra object id (GUID) nor a UPN`);

  const allowedTenantIds = list('ALLOWED_TENANT_IDS');
  for (const id of allowedTenantIds)
    if (!GUID.test(id)) bad('ALLOWED_TENANT_IDS', `has "${id}", which is not a tenant id (GUID)`);

  const logLevel = get('LOG_LEVEL');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const isLevel = (value: string): value is Config['logLevel'] =>
    (levels as readonly string[]).includes(value);
  if (!isLevel(logLevel)) bad('LOG_LEVEL', `must be one of ${levels.join(', ')}`);

  const config: Config = {
    port,
    publicBaseUrl: get('PUBLIC_BASE_URL')
      ? url('PUBLIC_BASE_URL', ['https:', 'http:'])
      : `http://localhost:${Number.isInteger(port) ? port : 3978}`,
    bot: {
      appId,
      appPassword: get('MicrosoftAppPassword'),
      appType: appType as Config['bot']['appType'],
      appTenantId: get('MicrosoftAppTenantId'),
    },
    redis: { url: redisUrl, prefix: redisPrefix },
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
      approvers: approvers.map((a) => a.toLowerCase()),
      allowSelfApproval: flag('ALLOW_SELF_APPROVAL'),
      timeoutMs: duration('APPROVAL_TIMEOUT'),
    },
    allowedTenantIds: allowedTenantIds.map((id) => id.toLowerCase()),
    pollIntervalMs: duration('POLL_INTERVAL'),
    teamsThreadRates: rates('TEAMS_THREAD_RATE'),
    jobLockMs: duration('JOB_LOCK_DURATION'),
    logLevel: isLevel(logLevel) ? logLevel : 'info',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A copy safe to log: secrets replaced. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    port: config.port,
    publicBaseUrl: config.publicBaseUrl,
    botAppId: config.bot.appId || '(anonymous, local only)',
    redis: config.redis.url.replace(/\/\/[^@/]*@/, '//***@'),
    redisPrefix: config.redis.prefix,
    defenderApiUrl: config.defender.apiUrl,
    defenderScope: config.defender.scope,
    defenderAuth: config.defender.auth.kind,
    runRate: config.defender.runRate,
    apiRates: config.defender.apiRates,
    maxSessions: config.defender.maxSessions,
    approvers: config.approval.approvers.length,
    approvalTimeoutMs: config.approval.timeoutMs,
    pollIntervalMs: config.pollIntervalMs,
  };
}
