// Verifies the Entra ID token the Teams tab gets from `authentication.getAuthToken`: signature against the
// authority's published keys, audience, issuer for the token's own tenant, allowed tenant, lifetime and scope.
// Only then does the tab API know who is asking.
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../core/clock.js';
import type { Person } from '../core/request.js';

export interface SsoSettings {
  /** Entra app (client) id of the tab's API. */
  appId: string;
  /** Host (with port, if any) of `PUBLIC_BASE_URL`: the App ID URI is `api://<publicHost>/<appId>`. */
  publicHost: string;
  /** e.g. https://login.microsoftonline.com */
  authorityHost: string;
  /** Lower-cased tenant ids; empty = any tenant (anonymous local mode only). */
  allowedTenantIds: readonly string[];
}

/** The signed-in person, as the token says. */
export interface SignedInPerson {
  tenantId: string;
  person: Person;
}

/** Why a token was refused: a short reason the tab shows and the log keeps (never the token). */
export class SsoError extends Error {
  constructor(
    message: string,
    readonly status: 401 | 403 = 401,
  ) {
    super(message);
    this.name = 'SsoError';
  }
}

export interface SsoVerifier {
  verify(authorization: string | undefined): Promise<SignedInPerson>;
}

/** Teams' desktop/mobile and web clients obtain tokens for the tab's scope; Entra signs with RS256. */
const ALGORITHMS = ['RS256'];
/** Clocks of Entra and this host differ a little. */
const CLOCK_TOLERANCE_S = 60;

function claim(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  return typeof value === 'string' && value ? value : undefined;
}

export function createSsoVerifier(settings: SsoSettings, clock: Clock): SsoVerifier {
  const authority = settings.authorityHost.replace(/\/+$/, '');
  // Entra publishes one key set for all tenants (`common`); jose caches it and refetches on an unknown `kid`
  // (key rollover) at most every 30 seconds.
  const keys = createRemoteJWKSet(new URL(`${authority}/common/discovery/v2.0/keys`));
  // Teams' getAuthToken returns v1 tokens whose audience is the App ID URI; apps that set
  // accessTokenAcceptedVersion 2 get the bare client id. Both name this app and nothing else.
  const audiences = [`api://${settings.publicHost}/${settings.appId}`, settings.appId];

  return {
    async verify(authorization) {
      const token = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization ?? '')?.[1];
      if (!token) throw new SsoError('Sign-in required: no Teams sign-in token came with the request.');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: ALGORITHMS,
          audience: audiences,
          clockTolerance: CLOCK_TOLERANCE_S,
          currentDate: new Date(clock.now()),
          requiredClaims: ['exp', 'iss', 'tid', 'oid'],
        }));
      } catch (error) {
        throw new SsoError(explain(error));
      }
      const tenantId = claim(payload, 'tid')!.toLowerCase();
      // The common key set signs every tenant's tokens: the issuer must be the token's own tenant, or a token
      // from any Entra tenant would pass.
      const issuers = [`${authority}/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`];
      if (!issuers.includes(claim(payload, 'iss')?.toLowerCase() ?? ''))
        throw new SsoError('Sign-in refused: the token was not issued by your organisation’s Entra ID.');
      if (settings.allowedTenantIds.length > 0 && !settings.allowedTenantIds.includes(tenantId))
        throw new SsoError('Your organisation may not use this bot.', 403);
      const scopes = (claim(payload, 'scp') ?? '').split(' ');
      if (!scopes.includes('access_as_user'))
        throw new SsoError('Sign-in refused: the token does not carry the access_as_user scope.');
      const oid = claim(payload, 'oid')!.toLowerCase();
      const upn = claim(payload, 'preferred_username') ?? claim(payload, 'upn');
      return {
        tenantId,
        person: {
          // The `29:` id is only known to Teams; the roster look-up fills it in where the person is a member.
          teamsId: '',
          aadObjectId: oid,
          name: claim(payload, 'name') ?? upn ?? oid,
          ...(upn ? { upn: upn.toLowerCase() } : {}),
        },
      };
    },
  };
}

function explain(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'Sign-in expired: reopen the tab to sign in again.';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud')
    return 'Sign-in refused: the token was issued for another app.';
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey)
    return 'Sign-in refused: the token’s signature does not match your organisation’s keys.';
  if (error instanceof errors.JOSEError) return `Sign-in refused: ${error.message}.`;
  return 'Sign-in could not be checked just now (Entra ID did not answer); try again in a minute.';
}
