// `npm run doctor`'s checks against a real deployment, in order: configuration, Redis, the bot's Bot Framework
// sign-in, the Defender token's audience and roles, the live response library and one machines call, and
// PUBLIC_BASE_URL over https. Reads what it needs, lets doctor-checks.ts judge it, and never keeps or prints a secret.
import { get as httpsGet } from 'node:https';
import { decodeJwt } from 'jose';
import { type Config, ConfigError, readConfig } from '../app/config.js';
import { describeRedis } from '../app/redis-config.js';
import { createRedisServerConnection } from '../app/redis-connection.js';
import { createDefenderClient } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import {
  createMsalTokenProvider,
  createStaticTokenProvider,
  type MsalTokenProviderOptions,
  TokenAcquisitionError,
} from '../defender/token-provider.js';
import {
  type CheckResult,
  fail,
  judgeDefenderClaims,
  judgePublicUrlScheme,
  judgeRedis,
  parseRedisInfo,
  pass,
  warn,
} from './doctor-checks.js';

type SignInSetup = Pick<
  MsalTokenProviderOptions,
  'networkClient' | 'authorityMetadata' | 'cloudDiscoveryMetadata'
>;

export interface DoctorOptions {
  /** MSAL's network setup for a sign-in at this authority host and tenant (tests route it to a local endpoint). */
  signIn?: (authorityHost: string, tenantId: string) => SignInSetup;
  /** Extra CA certificate (PEM) trusted when reaching PUBLIC_BASE_URL (a test's own https server). */
  publicUrlCa?: string;
  /** Per network check. Default 10 s. */
  timeoutMs?: number;
}

/** The part of a TokenAcquisitionError that Entra ID said, without the Defender-specific hint. */
function entraSaid(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return /Entra ID said: (.*)$/.exec(error.message)?.[1] ?? error.message;
}

async function checkRedis(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  // The bot's own TLS and credentials (REDIS_TLS, REDIS_PASSWORD…), not the bare URL: a managed Redis needs both.
  const redis = createRedisServerConnection(config.redis, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = parseRedisInfo(
      [await redis.info('server'), await redis.info('persistence'), await redis.info('memory')].join('\n'),
    );
    let save: string | null;
    try {
      const reply = (await redis.config('GET', 'save')) as string[];
      save = reply[1] ?? '';
    } catch {
      save = null; // CONFIG is disabled on managed Redis services
    }
    return judgeRedis({
      version: info.redis_version ?? '0',
      aofEnabled: info.aof_enabled === '1',
      save,
      maxmemoryPolicy: info.maxmemory_policy ?? 'unknown',
    });
  } catch (error) {
    return [
      fail(
        'Redis',
        `could not reach ${describeRedis(config.redis)}: ${error instanceof Error ? error.message : String(error)}`,
        'check REDIS_URL (host, port, password, rediss:// for TLS) and that this host may reach Redis',
      ),
    ];
  } finally {
    redis.disconnect();
  }
}

const BOT_HINTS: Record<string, string> = {
  AADSTS7000215:
    'MicrosoftAppPassword is wrong: use the client secret value (not its id) of the bot registration',
  AADSTS7000222: "MicrosoftAppPassword has expired: create a new client secret on the bot's app registration",
  AADSTS700016:
    'MicrosoftAppId is not an app of that tenant: check MicrosoftAppId and MicrosoftAppTenantId; a registration made after 31 July 2025 is single-tenant (MicrosoftAppType=SingleTenant)',
  AADSTS90002: 'the tenant was not found: check MicrosoftAppTenantId',
};

async function checkBotSignIn(config: Config, options: DoctorOptions): Promise<CheckResult> {
  const name = 'Bot Framework sign-in';
  const { appId, appType, appTenantId, appPassword, channel } = config.bot;
  if (!appId)
    return warn(
      name,
      'MicrosoftAppId is empty: anonymous mode, loopback only; Teams cannot reach this bot',
      'set MicrosoftAppId, MicrosoftAppPassword and MicrosoftAppTenantId of the Azure Bot registration',
    );
  if (appType === 'UserAssignedMSI')
    return warn(
      name,
      'a user-assigned managed identity signs in only on its Azure host; not checked here',
      'run the doctor on the App Service or container that has the identity assigned',
    );
  // As botframework-connector does: the channel's login URL, with the bot's own tenant for a single-tenant bot.
  const login = new URL(channel.ToChannelFromBotLoginUrl);
  const tenantId =
    appType === 'SingleTenant' ? appTenantId : (login.pathname.split('/').filter(Boolean)[0] ?? '');
  const scope = `${channel.ToChannelFromBotOAuthScope.replace(/\/+$/, '')}/.default`;
  try {
    await createMsalTokenProvider({
      tenantId,
      clientId: appId,
      clientSecret: appPassword,
      authorityHost: login.origin,
      scope,
      ...options.signIn?.(login.origin, tenantId),
    }).getToken();
    return pass(name, `MicrosoftAppId got a token for ${scope} from ${login.origin}/${tenantId}`);
  } catch (error) {
    const code = error instanceof TokenAcquisitionError ? error.code : undefined;
    return fail(
      name,
      `no token for ${scope}: ${entraSaid(error)}`,
      (code && BOT_HINTS[code]) ??
        'check MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppTenantId and MicrosoftAppType against the Azure Bot registration',
    );
  }
}

/** The Defender token (never printed), or the failed check. */
async function defenderToken(config: Config, options: DoctorOptions): Promise<string | CheckResult> {
  const auth = config.defender.auth;
  if (auth.kind === 'token') return auth.accessToken;
  try {
    return await createMsalTokenProvider({
      ...auth,
      scope: config.defender.scope,
      ...options.signIn?.(auth.authorityHost, auth.tenantId),
    }).getToken();
  } catch (error) {
    return fail(
      'Defender sign-in',
      error instanceof Error ? error.message : String(error),
      'the message above names the setting to check (DEFENDER_TENANT_ID, DEFENDER_CLIENT_ID, the secret or certificate, DEFENDER_SCOPE)',
    );
  }
}

function checkClaims(config: Config, token: string): CheckResult[] {
  let claims: { aud?: unknown; roles?: unknown };
  try {
    claims = decodeJwt(token);
  } catch {
    return [
      warn(
        'Defender token',
        'DEFENDER_ACCESS_TOKEN is not a JWT, so its audience and roles cannot be read',
        'use the app registration (DEFENDER_TENANT_ID, DEFENDER_CLIENT_ID, DEFENDER_CLIENT_SECRET) in production',
      ),
    ];
  }
  return judgeDefenderClaims(claims, config.defender.apiUrl, config.defender.scope);
}

function defenderFailure(name: string, error: unknown): CheckResult {
  if (!(error instanceof DefenderApiError)) return fail(name, String(error), 'check DEFENDER_API_URL');
  const fix =
    error.status === 403
      ? 'grant the permission Defender names to the app (WindowsDefenderATP application permissions) with admin consent, and check the token audience above'
      : error.status === 401
        ? 'Defender refused the token: check DEFENDER_TENANT_ID and the app credentials (or DEFENDER_ACCESS_TOKEN)'
        : error.status === 0
          ? 'check that DEFENDER_API_URL is right and reachable from this host (proxy, firewall, DNS)'
          : 'see the message; check DEFENDER_API_URL';
  return fail(name, error.message, fix);
}

async function checkDefenderApi(config: Config, token: string, timeoutMs: number): Promise<CheckResult[]> {
  const client = createDefenderClient({
    baseUrl: config.defender.apiUrl,
    tokens: createStaticTokenProvider(token),
    timeoutMs,
  });
  const results: CheckResult[] = [];
  try {
    const files = await client.listLibraryFiles();
    results.push(pass('Live response library', `${files.length} file(s)`));
  } catch (error) {
    results.push(defenderFailure('Live response library', error));
  }
  try {
    const machines = await client.findMachines({ top: 1 });
    results.push(
      pass('Defender machines', `answered (${machines.length ? 'devices listed' : 'no devices yet'})`),
    );
  } catch (error) {
    results.push(defenderFailure('Defender machines', error));
  }
  return results;
}

function probeHttps(url: string, ca: string | undefined, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ...(ca ? { ca } : {}), timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

async function checkPublicUrl(
  config: Config,
  options: DoctorOptions,
  timeoutMs: number,
): Promise<CheckResult> {
  const scheme = judgePublicUrlScheme(config.publicBaseUrl);
  if (scheme) return scheme;
  const healthz = `${config.publicBaseUrl.replace(/\/+$/, '')}/healthz`;
  try {
    const status = await probeHttps(healthz, options.publicUrlCa, timeoutMs);
    if (status === 200) return pass('PUBLIC_BASE_URL', `${healthz} answered 200 over https`);
    return fail(
      'PUBLIC_BASE_URL',
      `${healthz} answered ${status}`,
      'point PUBLIC_BASE_URL (and its reverse proxy) at this bot, which answers /healthz with 200 once running',
    );
  } catch (error) {
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
    return fail(
      'PUBLIC_BASE_URL',
      `${healthz} is not reachable over https: ${code ?? (error instanceof Error ? error.message : String(error))}`,
      'start the bot, then check DNS, the TLS certificate (issued by a public CA for that name) and the reverse proxy for PUBLIC_BASE_URL',
    );
  }
}

/** Runs every check; a configuration that cannot be read stops the run after that one check. */
export async function runDoctor(env: NodeJS.ProcessEnv, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let config: Config;
  try {
    config = readConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [
      fail('Configuration', error.problems.join('; '), 'fix each setting named above (see .env.example)'),
    ];
  }
  const results: CheckResult[] = [
    pass(
      'Configuration',
      `Defender ${config.defender.apiUrl} (scope ${config.defender.scope}), ${config.defender.auth.kind} sign-in; bot ${config.bot.appId || 'anonymous'}`,
    ),
  ];
  results.push(...(await checkRedis(config, timeoutMs)));
  results.push(await checkBotSignIn(config, options));
  const token = await defenderToken(config, options);
  if (typeof token === 'string') {
    results.push(...checkClaims(config, token));
    results.push(...(await checkDefenderApi(config, token, timeoutMs)));
  } else {
    results.push(token);
  }
  results.push(await checkPublicUrl(config, options, timeoutMs));
  return results;
}
