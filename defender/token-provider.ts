// Bearer tokens for the Defender API: a fixed token (simulator, tests) or app-only tokens from Entra ID via MSAL
// client credentials, with one ConfidentialClientApplication per provider so MSAL's token cache does its job.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  AuthError,
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  type INetworkModule,
  ServerError,
} from '@azure/msal-node';

export interface TokenProvider {
  getToken(): Promise<string>;
}

export function createStaticTokenProvider(token: string): TokenProvider {
  if (!token) throw new Error('A static Defender access token must not be empty');
  return { getToken: async () => token };
}

/** A token could not be obtained; the message says what to check and never contains the secret. */
export class TokenAcquisitionError extends Error {
  override readonly name = 'TokenAcquisitionError';
  /** True for failures worth retrying (network, Entra ID 5xx); false for configuration problems. */
  readonly retryable: boolean;
  /** The Entra ID error (`AADSTS7000215`) or MSAL error code, when known. */
  readonly code: string | undefined;

  constructor(message: string, retryable: boolean, code?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.retryable = retryable;
    this.code = code;
  }
}

export interface MsalTokenProviderOptions {
  /** Entra ID tenant (directory) id of the app registration. */
  tenantId: string;
  /** Application (client) id. */
  clientId: string;
  /** Client secret; give this or `certificatePem`. */
  clientSecret?: string;
  /** PEM holding the private key (PKCS#8 or PKCS#1, unencrypted) and the certificate uploaded to the app. */
  certificatePem?: string;
  /** Sign-in host. Default `https://login.microsoftonline.com`; GCC High / DoD use `https://login.microsoftonline.us`. */
  authorityHost?: string;
  /**
   * The token's audience, e.g. `https://api.securitycenter.microsoft.com/.default`. Default: `defenderScopeFor(apiUrl)`.
   * It is the WindowsDefenderATP resource of the cloud, not the host that is called.
   */
  scope?: string;
  /** Defender API base URL; only used to pick the default scope. */
  apiUrl?: string;
  /** MSAL's HTTP client, for tests that route sign-in to a local endpoint. */
  networkClient?: INetworkModule;
  /** OpenID metadata and cloud discovery JSON, so MSAL makes no discovery calls (offline tests, locked-down hosts). */
  authorityMetadata?: string;
  cloudDiscoveryMetadata?: string;
}

/** MSAL's certificate credential from one PEM: SHA-256 thumbprint, PKCS#8 private key and the certificate (x5c). */
export function certificateCredential(pem: string): {
  thumbprintSha256: string;
  privateKey: string;
  x5c: string;
} {
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(
    pem,
  )?.[0];
  if (!certificate || !key) {
    throw new TokenAcquisitionError(
      'The Defender certificate PEM must contain both an unencrypted private key and its certificate',
      false,
    );
  }
  const thumbprintSha256 = new X509Certificate(certificate).fingerprint256.replaceAll(':', '').toLowerCase();
  // MSAL signs with a PKCS#8 key; `BEGIN RSA PRIVATE KEY` (PKCS#1) files are common, so convert.
  const privateKey = createPrivateKey(key).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { thumbprintSha256, privateKey, x5c: certificate };
}

const COMMERCIAL_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

/**
 * The scope (token audience) for a Defender API host. Commercial hosts, regional ones included
 * (`{us,eu,uk,au,swa,ina}.api.security.microsoft.com`), share the WindowsDefenderATP resource
 * `https://api.securitycenter.microsoft.com` (the OAuth2 section of every API page names that scope, whatever host
 * it tells callers to use). Microsoft's "Microsoft Defender for Endpoint for US Government customers" page
 * (learn.microsoft.com/defender-endpoint/gov, section API) gives GCC its API `https://api-gcc.securitycenter.microsoft.us`
 * (sign-in at login.microsoftonline.com) and GCC High/DoD `https://api-gov.securitycenter.microsoft.us` (sign-in at
 * login.microsoftonline.us); it names no separate token resource, and public GCC scripts ask for
 * `https://api-gcc.securitycenter.microsoft.us/.default`. So the stricter reading: each government cloud's API is its own
 * audience, and a commercial token is refused there. Any other host (a local simulator, a proxy) gets the commercial
 * scope; set DEFENDER_SCOPE to override.
 */
export function defenderScopeFor(apiUrl: string): string {
  let host = '';
  try {
    host = new URL(apiUrl).hostname.toLowerCase();
  } catch {
    return COMMERCIAL_SCOPE;
  }
  if (host === 'api-gcc.securitycenter.microsoft.us')
    return 'https://api-gcc.securitycenter.microsoft.us/.default';
  if (host === 'api-gov.securitycenter.microsoft.us')
    return 'https://api-gov.securitycenter.microsoft.us/.default';
  return COMMERCIAL_SCOPE;
}

/** The audience (`aud` claim) a token asked for with `scope` carries: the resource without `/.default`. */
export function audienceOfScope(scope: string): string {
  return scope.replace(/\/\.default$/, '');
}

/** Entra ID errors worth naming, with what to check. */
const AADSTS_HINTS: Record<string, string> = {
  AADSTS90002: 'the tenant was not found: check the tenant id (DEFENDER_TENANT_ID)',
  AADSTS900023: 'the tenant id is malformed: check DEFENDER_TENANT_ID',
  AADSTS700016:
    'the application was not found in that tenant: check the client id (DEFENDER_CLIENT_ID) and tenant id',
  AADSTS7000215:
    'the client secret is wrong: check DEFENDER_CLIENT_SECRET (use the secret value, not its id)',
  AADSTS7000222: 'the client secret has expired: create a new one and update DEFENDER_CLIENT_SECRET',
  AADSTS7000218: 'no credential was sent: set DEFENDER_CLIENT_SECRET or a certificate',
  AADSTS700027:
    'the certificate was not accepted: check that this certificate is uploaded to the app registration',
  AADSTS500011:
    'the resource in the scope was not found in the tenant: check DEFENDER_SCOPE (commercial and regional hosts use https://api.securitycenter.microsoft.com/.default) and that the app has WindowsDefenderATP permissions with admin consent',
  AADSTS1002012: 'the scope is not valid: check DEFENDER_SCOPE (it ends in /.default)',
};

const GENERIC_HINT =
  'check the tenant id, client id and secret or certificate, and that the app has the Defender API application permissions Machine.LiveResponse, Machine.Read.All and Library.Manage with admin consent';

function toTokenError(error: unknown, secret: string | undefined): TokenAcquisitionError {
  const scrub = (text: string): string =>
    (secret ? text.split(secret).join('[redacted]') : text).split(/\r?\n/)[0]!.trim();
  if (error instanceof AuthError) {
    const description = scrub(error.errorMessage || error.message);
    const aadsts = /AADSTS\d+/.exec(description)?.[0];
    const status = 'status' in error && typeof error.status === 'number' ? error.status : undefined;
    const network = error.errorCode === 'network_error' || error.errorCode === 'endpoints_resolution_error';
    // After a 429 or 5xx, MSAL answers every call with that same error, without a status and without asking
    // Entra ID, until the Retry-After (60 s without one) has passed: as transient as the answer it repeats.
    const replayedThrottle = error instanceof ServerError && status === undefined;
    const retryable =
      network ||
      replayedThrottle ||
      (status !== undefined && (status >= 500 || status === 429)) ||
      error.errorCode === 'temporarily_unavailable';
    const hint =
      (aadsts && AADSTS_HINTS[aadsts]) ??
      (network
        ? 'check that the sign-in host is reachable'
        : retryable
          ? 'Entra ID is not issuing tokens right now (a temporary failure)'
          : GENERIC_HINT);
    return new TokenAcquisitionError(
      `Could not get a Defender API token (${aadsts ?? error.errorCode}): ${hint}. Entra ID said: ${description}`,
      retryable,
      aadsts ?? error.errorCode,
      error,
    );
  }
  const message = error instanceof Error ? scrub(error.message) : 'unknown error';
  return new TokenAcquisitionError(
    `Could not get a Defender API token: ${message}; ${GENERIC_HINT}`,
    true,
    undefined,
    error,
  );
}

export function createMsalTokenProvider(options: MsalTokenProviderOptions): TokenProvider {
  if (!options.clientSecret && !options.certificatePem) {
    throw new TokenAcquisitionError('Defender sign-in needs a client secret or a certificate', false);
  }
  const authorityHost = (options.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const scope = options.scope || defenderScopeFor(options.apiUrl ?? '');
  const config: Configuration = {
    auth: {
      clientId: options.clientId,
      authority: `${authorityHost}/${options.tenantId}`,
      ...(options.clientSecret
        ? { clientSecret: options.clientSecret }
        : { clientCertificate: certificateCredential(options.certificatePem!) }),
      ...(options.authorityMetadata ? { authorityMetadata: options.authorityMetadata } : {}),
      ...(options.cloudDiscoveryMetadata ? { cloudDiscoveryMetadata: options.cloudDiscoveryMetadata } : {}),
    },
    ...(options.networkClient ? { system: { networkClient: options.networkClient } } : {}),
  };
  // One application per provider: its in-memory cache returns the token until shortly before it expires.
  const app = new ConfidentialClientApplication(config);
  let inFlight: Promise<string> | undefined;

  const acquire = async (): Promise<string> => {
    let result: AuthenticationResult | null;
    try {
      result = await app.acquireTokenByClientCredential({ scopes: [scope] });
    } catch (error) {
      throw toTokenError(error, options.clientSecret);
    }
    if (!result?.accessToken) {
      throw new TokenAcquisitionError(
        `Could not get a Defender API token: Entra ID returned none; ${GENERIC_HINT}`,
        true,
      );
    }
    return result.accessToken;
  };

  return {
    getToken() {
      // Concurrent callers share one request instead of racing MSAL into several token calls.
      inFlight ??= acquire().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
