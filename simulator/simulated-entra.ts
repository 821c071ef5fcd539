// What Entra ID and Defender's authorisation layer do with app-only tokens, for the simulator: tokens are issued for
// the resource named in the scope (whatever it is) with the roles the app was granted on it, and Defender refuses a
// token for another audience or without the role a route needs, with 403 as the real service does.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The WindowsDefenderATP application permissions the simulator can grant (the ones the bot may meet). */
export const DEFENDER_ROLES = [
  'Machine.LiveResponse',
  'Machine.Read.All',
  'Library.Manage',
  'Machine.ReadWrite.All',
] as const;
export type DefenderRole = (typeof DEFENDER_ROLES)[number];

/** The commercial WindowsDefenderATP resource: the audience of every commercial and regional Defender host. */
export const COMMERCIAL_DEFENDER_AUDIENCE = 'https://api.securitycenter.microsoft.com';

/**
 * Other identifier URIs of WindowsDefenderATP: older Microsoft samples ask for this resource, and Defender's
 * commercial API accepts its tokens.
 */
const COMMERCIAL_ALIASES = ['https://securitycenter.onmicrosoft.com/windowsatpservice'];

/**
 * Resources every simulated tenant has a service principal for, besides its Defender API. A token for one of these
 * is issued (Entra ID does not know which API the caller means to call) and Defender refuses it: the
 * `https://api.security.microsoft.com` host's own resource is the Microsoft Threat Protection app, not
 * WindowsDefenderATP (MicrosoftDocs/microsoft-365-docs#9246: a token with another `aud` gets 403).
 */
export const OTHER_KNOWN_RESOURCES = [
  COMMERCIAL_DEFENDER_AUDIENCE,
  ...COMMERCIAL_ALIASES,
  'https://api.security.microsoft.com',
  'https://api.botframework.com',
  'https://api.botframework.us',
  'https://graph.microsoft.com',
] as const;

/** The audiences a Defender API configured for `audience` accepts. */
export function acceptedAudiences(audience: string): string[] {
  return audience === COMMERCIAL_DEFENDER_AUDIENCE ? [audience, ...COMMERCIAL_ALIASES] : [audience];
}

/** Claims of an issued token (a subset of Entra ID's v1 app-only access token). */
export interface TokenClaims {
  aud: string;
  iss: string;
  tid: string;
  appid: string;
  /** Application permissions on `aud`; absent when none were granted, as in Entra ID's tokens. */
  roles?: string[];
  iat: number;
  nbf: number;
  exp: number;
  idtyp: 'app';
  uti: string;
}

const base64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');

/**
 * Tokens are JWTs whose signature is `tag` followed by an HMAC of header and payload under the simulator's key: the
 * HMAC makes a token the simulator did not issue fail, and the fixed tag lets a test search logs for one string.
 */
export function issueToken(
  claims: Omit<TokenClaims, 'uti' | 'idtyp' | 'iss'>,
  key: Buffer,
  tag: string,
): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: 'lr-sim' }));
  const payload = base64url(
    JSON.stringify({
      ...claims,
      iss: `https://sts.windows.net/${claims.tid}/`,
      idtyp: 'app',
      uti: randomUUID().replaceAll('-', ''),
    }),
  );
  const mac = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${tag}${mac}`;
}

/** The claims of a token this simulator issued and that has not expired, else null. */
export function readIssuedToken(token: string, key: Buffer, tag: string, nowMs: number): TokenClaims | null {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || !payload || !signature || extra !== undefined || !signature.startsWith(tag)) return null;
  const expected = Buffer.from(createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'));
  const given = Buffer.from(signature.slice(tag.length));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return null;
  }
  return claims.exp * 1000 > nowMs ? claims : null;
}

/**
 * The application permissions a route needs: every group must be met, by any one role in it. From the API pages'
 * Permissions tables (learn.microsoft.com/defender-endpoint/api/...). Where pages disagree the simulator asks for
 * both: GetLiveResponseResultDownloadLink names Machine.LiveResponse on the older page, while the current endpoint
 * page and the real service (MicrosoftDocs/microsoft-365-docs#6053, a 403 naming Machine.Read.All,
 * Machine.ReadWrite.All) want a machine read permission.
 */
export function requiredRoles(method: string, path: string): string[][] {
  const read = ['Machine.Read.All', 'Machine.ReadWrite.All'];
  if (method === 'GET' && /^\/machines(\/[^/]+)?\/?$/i.test(path)) return [read];
  if (method === 'GET' && /^\/libraryfiles\/?$/i.test(path)) return [['Library.Manage']];
  if (method === 'POST' && /^\/machines\/[^/]+\/runliveresponse\/?$/i.test(path))
    return [['Machine.LiveResponse']];
  if (method === 'GET' && /\/GetLiveResponseResultDownloadLink/i.test(path))
    return [['Machine.LiveResponse'], read];
  if (method === 'POST' && /^\/machineactions\/[^/]+\/cancel\/?$/i.test(path))
    // Cancel machine action: any of the response-action permissions.
    return [
      [
        'Machine.CollectForensics',
        'Machine.Isolate',
        'Machine.RestrictExecution',
        'Machine.Scan',
        'Machine.Offboard',
        'Machine.StopAndQuarantine',
        'Machine.LiveResponse',
      ],
    ];
  if (method === 'GET' && /^\/machineactions(\/[^/]+)?\/?$/i.test(path)) return [read];
  return [];
}

/** The first group of `required` that `roles` does not meet, or null when every group is met. */
export function missingRoles(roles: readonly string[], required: string[][]): string[] | null {
  return required.find((group) => !group.some((role) => roles.includes(role))) ?? null;
}
