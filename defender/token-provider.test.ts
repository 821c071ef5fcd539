import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INetworkModule } from '@azure/msal-node';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { createOfflineMsalSetup } from '../simulator/offline-msal-setup.js';
import {
  certificateCredential,
  createMsalTokenProvider,
  createStaticTokenProvider,
  TokenAcquisitionError,
} from './token-provider.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const SECRET = 'super-secret-value~123';
const API = 'https://api.securitycenter.microsoft.com';

let sim: DefenderSimulator;

beforeAll(async () => {
  sim = await startDefenderSimulator({
    tokenEndpoint: { clientId: CLIENT, clientSecret: SECRET },
  });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.control.reset();
});

function provider(
  overrides: { clientSecret?: string; certificatePem?: string; authorityHost?: string } = {},
) {
  const { clientSecret, ...rest } = overrides;
  return createMsalTokenProvider({
    tenantId: TENANT,
    clientId: CLIENT,
    apiUrl: API,
    ...(rest.certificatePem ? {} : { clientSecret: clientSecret ?? SECRET }),
    ...rest,
    ...createOfflineMsalSetup(sim.url, {
      tenantId: TENANT,
      ...(rest.authorityHost ? { authorityHost: rest.authorityHost } : {}),
    }),
  });
}
const tokenCalls = () => sim.control.calls({ method: 'POST', path: /\/oauth2\/v2\.0\/token$/ });

describe('createStaticTokenProvider', () => {
  it('returns the token it was given', async () => {
    await expect(createStaticTokenProvider('abc').getToken()).resolves.toBe('abc');
    expect(() => createStaticTokenProvider('')).toThrow();
  });
});

describe('createMsalTokenProvider', () => {
  it('gets a token with client credentials for the Defender audience and serves later calls from its cache', async () => {
    const tokens = provider();
    const [a, b] = await Promise.all([tokens.getToken(), tokens.getToken()]);
    expect(decodeJwt(a).aud).toBe(API);
    expect(b).toBe(a);
    await expect(tokens.getToken()).resolves.toBe(a);
    const calls = tokenCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.path).toBe(`/${TENANT}/oauth2/v2.0/token`);
  });

  it('signs in at the configured authority host for the GCC High audience, which that cloud accepts', async () => {
    const gov = await startDefenderSimulator({
      audience: 'https://api-gov.securitycenter.microsoft.us',
      tokenEndpoint: { clientId: CLIENT, clientSecret: SECRET },
    });
    onTestFinished(() => gov.close());
    const seen: string[] = [];
    const setup = createOfflineMsalSetup(gov.url, {
      tenantId: TENANT,
      authorityHost: 'https://login.microsoftonline.us',
    });
    const spy: INetworkModule = {
      sendGetRequestAsync: (url, options) => {
        seen.push(url);
        return setup.networkClient.sendGetRequestAsync(url, options);
      },
      sendPostRequestAsync: (url, options) => {
        seen.push(url);
        return setup.networkClient.sendPostRequestAsync(url, options);
      },
    };
    const tokens = createMsalTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      apiUrl: 'https://api-gov.securitycenter.microsoft.us',
      authorityHost: 'https://login.microsoftonline.us',
      ...setup,
      networkClient: spy,
    });
    const token = await tokens.getToken();
    expect(decodeJwt(token).aud).toBe('https://api-gov.securitycenter.microsoft.us');
    expect(seen.map((url) => url.split('?')[0])).toEqual([
      `https://login.microsoftonline.us/${TENANT}/oauth2/v2.0/token`,
    ]);
    const response = await fetch(`${gov.url}/api/machines`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
  });

  it('asks for the commercial audience when calling a regional host, and Defender accepts the token', async () => {
    const regional = createMsalTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      apiUrl: 'https://eu.api.security.microsoft.com',
      ...createOfflineMsalSetup(sim.url, { tenantId: TENANT }),
    });
    const token = await regional.getToken();
    expect(decodeJwt(token)).toMatchObject({
      aud: API,
      roles: expect.arrayContaining(['Machine.LiveResponse']),
    });
    const response = await fetch(`${sim.url}/api/machines`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
  });

  it('uses an explicit scope as given, and a token for the wrong resource gets 403 from Defender', async () => {
    const wrong = createMsalTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      scope: 'https://api.security.microsoft.com/.default',
      ...createOfflineMsalSetup(sim.url, { tenantId: TENANT }),
    });
    const token = await wrong.getToken();
    expect(decodeJwt(token).aud).toBe('https://api.security.microsoft.com');
    const response = await fetch(`${sim.url}/api/machines`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(403);
  });

  it('explains a scope whose resource the tenant does not have, naming DEFENDER_SCOPE', async () => {
    const error = (await createMsalTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      scope: 'https://eu.api.security.microsoft.com/.default',
      ...createOfflineMsalSetup(sim.url, { tenantId: TENANT }),
    })
      .getToken()
      .catch((e: unknown) => e)) as TokenAcquisitionError;
    expect(error.code).toBe('AADSTS500011');
    expect(error.message).toMatch(/check DEFENDER_SCOPE/);
    expect(error.retryable).toBe(false);
  });

  it('explains a wrong secret without repeating it', async () => {
    const error = await provider({ clientSecret: 'not-the-secret' })
      .getToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    const tokenError = error as TokenAcquisitionError;
    expect(tokenError.message).toMatch(/AADSTS7000215/);
    expect(tokenError.message).toMatch(/DEFENDER_CLIENT_SECRET/);
    expect(tokenError.message).not.toContain('not-the-secret');
    expect(tokenError.retryable).toBe(false);
  });

  it('turns a failing token endpoint into an error that says what to check', async () => {
    sim.control.setTokenFailure({
      status: 400,
      error: 'unauthorized_client',
      description: `AADSTS700016: Application with identifier '${CLIENT}' was not found in the directory 'Contoso'.`,
    });
    const error = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as TokenAcquisitionError;
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    expect(error.code).toBe('AADSTS700016');
    expect(error.message).toMatch(/client id \(DEFENDER_CLIENT_ID\)/);
    expect(error.message).not.toContain(SECRET);
  });

  it('falls back to a general checklist for unknown Entra ID errors', async () => {
    sim.control.setTokenFailure({
      status: 400,
      error: 'invalid_request',
      description: 'AADSTS9999999: Something new.',
    });
    const error = (await provider()
      .getToken()
      .catch((e: unknown) => e)) as TokenAcquisitionError;
    expect(error.message).toMatch(/tenant id, client id and secret or certificate/);
    expect(error.message).toMatch(/Machine\.LiveResponse/);
  });

  it('refuses to start without a secret or certificate', () => {
    expect(() => createMsalTokenProvider({ tenantId: TENANT, clientId: CLIENT, apiUrl: API })).toThrow(
      /client secret or a certificate/,
    );
  });
});

describe('certificate credentials', () => {
  let dir: string | undefined;
  let pem: string | undefined;
  let fingerprint: string | undefined;

  beforeAll(() => {
    try {
      dir = mkdtempSync(join(tmpdir(), 'lr-cert-'));
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '1',
          '-subj',
          '/CN=lr-bot-test',
        ],
        { stdio: 'ignore' },
      );
      pem = `${readFileSync(key, 'utf8')}\n${readFileSync(cert, 'utf8')}`;
      fingerprint = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], {
        encoding: 'utf8',
      })
        .split('=')[1]!
        .trim()
        .replaceAll(':', '')
        .toLowerCase();
    } catch {
      pem = undefined; // no openssl here: the certificate tests are skipped
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('computes the SHA-256 thumbprint and the PKCS#8 key from one PEM', ({ skip }) => {
    if (!pem) skip();
    const credential = certificateCredential(pem!);
    expect(credential.thumbprintSha256).toBe(fingerprint);
    expect(credential.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(credential.x5c).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('signs in with a certificate (a signed client assertion)', async ({ skip }) => {
    if (!pem) skip();
    expect(decodeJwt(await provider({ certificatePem: pem! }).getToken()).aud).toBe(API);
  });

  it('refuses a PEM without a private key', () => {
    expect(() =>
      certificateCredential('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
    ).toThrow(/private key and its certificate/);
  });
});
