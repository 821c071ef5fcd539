// A local Entra ID (Azure AD) for the Teams tab's single sign-on: signs access tokens with a test key and serves
// the OpenID metadata and signing keys the way login.microsoftonline.com does, so the bot verifies them exactly as
// it verifies real ones. Tests mint tokens directly; the local Teams host page mints them over HTTP.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

/** The scope the tab's Entra app exposes (Teams asks for it with `authentication.getAuthToken`). */
export const TAB_SCOPE = 'access_as_user';

/** Who a token is for and about. */
export interface EntraTokenClaims {
  /** Entra object id of the person. */
  oid: string;
  /** Tenant id. */
  tid: string;
  name: string;
  /** UPN, put in `preferred_username` as Entra does in v2 tokens. */
  upn: string;
  /** `api://<host>/<app id>` (what Teams' getAuthToken returns) or the bare app id (v2 tokens). */
  aud: string;
  /** Default `access_as_user`. */
  scp?: string;
}

export interface MintOptions {
  /** Lifetime; negative for an already expired token. Default 1 hour (Entra gives 60–90 minutes). */
  expiresInSeconds?: number;
  /** Replace the issuer (tests of a forged issuer); default this simulator's v2 issuer for the token's tenant. */
  issuer?: string;
  /** Sign with a key the JWKS does not publish (a forged signature). */
  foreignKey?: boolean;
  /** Seconds since the epoch for `iat`/`nbf`; default now. */
  now?: number;
}

export interface EntraSimulator {
  /** Use as the authority host, e.g. `TAB_SSO_AUTHORITY_HOST`. */
  url: string;
  /** The v2 issuer for a tenant: `<url>/<tid>/v2.0`, as Entra writes it. */
  issuerFor(tenantId: string): string;
  mintToken(claims: EntraTokenClaims, options?: MintOptions): Promise<string>;
  /** How many times the signing keys were fetched (a verifier should cache them). */
  keyFetches(): number;
  close(): Promise<void>;
}

export async function startEntraSimulator(
  options: { port?: number; host?: string } = {},
): Promise<EntraSimulator> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = {
    ...(await exportJWK(signing.publicKey)),
    kid,
    use: 'sig',
    alg: 'RS256',
    kty: 'RSA',
  };
  let fetches = 0;
  let url = '';

  const issuerFor = (tenantId: string) => `${url}/${tenantId}/v2.0`;

  async function mintToken(claims: EntraTokenClaims, mint: MintOptions = {}): Promise<string> {
    const now = mint.now ?? Math.floor(Date.now() / 1000);
    const lifetime = mint.expiresInSeconds ?? 3600;
    const key = mint.foreignKey ? foreign.privateKey : signing.privateKey;
    return new SignJWT({
      oid: claims.oid,
      tid: claims.tid,
      name: claims.name,
      preferred_username: claims.upn,
      scp: claims.scp ?? TAB_SCOPE,
      ver: '2.0',
      // Teams' desktop client id; Entra puts the calling client in `azp` of v2 tokens.
      azp: '1fec8e78-bce4-4aaf-ab1b-5451cc387264',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(mint.issuer ?? issuerFor(claims.tid))
      .setAudience(claims.aud)
      .setSubject(`sub-${claims.oid}`)
      .setIssuedAt(now)
      .setNotBefore(now - 300)
      .setExpirationTime(now + lifetime)
      .sign(key);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    // The local host page (another origin) mints tokens here; real Entra has no such endpoint.
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'content-type');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    // https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration: for `common` the issuer
    // carries a `{tenantid}` placeholder, which is why verifiers must check the issuer against the token's tid.
    const metadata = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (req.method === 'GET' && metadata) {
      const tenant = metadata[1] ?? 'common';
      const issuerTenant = ['common', 'organizations'].includes(tenant) ? '{tenantid}' : tenant;
      json(res, 200, {
        issuer: `${url}/${issuerTenant}/v2.0`,
        authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
        jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
      });
      return;
    }
    if (req.method === 'GET' && /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) {
      fetches += 1;
      json(res, 200, { keys: [publicJwk] });
      return;
    }
    if (req.method === 'POST' && path === '/_local/teams-sso-token') {
      const body = JSON.parse((await readBody(req)) || '{}') as Partial<EntraTokenClaims>;
      if (!body.oid || !body.tid || !body.aud || !body.name || !body.upn) {
        json(res, 400, {
          error: 'invalid_request',
          error_description: 'oid, tid, aud, name and upn are required',
        });
        return;
      }
      json(res, 200, { access_token: await mintToken(body as EntraTokenClaims), token_type: 'Bearer' });
      return;
    }
    json(res, 404, { error: 'not_found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) =>
      json(res, 500, { error: 'server_error', error_description: String(error) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    issuerFor,
    mintToken,
    keyFetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
