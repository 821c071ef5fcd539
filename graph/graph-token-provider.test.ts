import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { createOfflineMsalSetup } from '../simulator/offline-msal-setup.js';
import { createGraphTokenProvider, graphScopeFor } from './graph-token-provider.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const SECRET = 'graph-secret-value~456';

// The Defender simulator's token endpoint stands in for Entra ID: it issues tokens for Graph's resource too.
let sim: DefenderSimulator;

beforeAll(async () => {
  sim = await startDefenderSimulator({ tokenEndpoint: { clientId: CLIENT, clientSecret: SECRET } });
});

afterAll(async () => {
  await sim?.close();
});

const provider = (clientSecret = SECRET) =>
  createGraphTokenProvider({
    tenantId: TENANT,
    clientId: CLIENT,
    clientSecret,
    graphUrl: 'https://graph.microsoft.com',
    ...createOfflineMsalSetup(sim.url, { tenantId: TENANT }),
  });

describe('createGraphTokenProvider', () => {
  it("gets an app token for Graph's audience with client credentials, once for concurrent callers", async () => {
    const tokens = provider();
    const before = sim.control.calls({ method: 'POST', path: /oauth2/ }).length;
    const [a, b] = await Promise.all([tokens.getToken(), tokens.getToken()]);
    expect(b).toBe(a);
    expect(decodeJwt(a).aud).toBe('https://graph.microsoft.com');
    expect(sim.control.calls({ method: 'POST', path: /oauth2/ }).length - before).toBe(1);
  });

  it('names the GRAPH_* settings and never the secret when sign-in fails', async () => {
    const wrong = 'not-the-secret-0000';
    const error = await provider(wrong)
      .getToken()
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.message).toContain('GRAPH_CLIENT_SECRET');
    expect(error?.message).toContain('AADSTS7000215');
    expect(error?.message).not.toContain(wrong);
  });

  it("asks each national cloud's Graph for its own audience", () => {
    expect(graphScopeFor('https://graph.microsoft.us')).toBe('https://graph.microsoft.us/.default');
    expect(graphScopeFor('https://dod-graph.microsoft.us/')).toBe('https://dod-graph.microsoft.us/.default');
    expect(graphScopeFor('http://127.0.0.1:4000')).toBe('https://graph.microsoft.com/.default');
  });
});
