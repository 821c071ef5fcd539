// BOT_CLOUD reaches the adapter's Bot Framework authentication: a bot configured for GCC High (usgov) accepts
// activities whose token the US Government channel issued (issuer https://api.botframework.us) and refuses the public
// cloud's. The channel's signing keys are served locally through the ToBotFromChannelOpenIdMetadataUrl override,
// since login.botframework.azure.us is out of reach here; the token issuer is the usgov preset's.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { botAuthenticationOptions } from '../app/start-app.js';
import { type Stack, startStack } from './support/start-stack.js';
import { channelThread, USERS } from './support/teams-fixtures.js';

const APP_ID = '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const KID = 'test-channel-key';
const REGISTERED = {
  MicrosoftAppId: APP_ID,
  MicrosoftAppPassword: 'bot-secret',
  MicrosoftAppTenantId: TENANT,
  PUBLIC_BASE_URL: 'https://lrbot.contoso.us',
};

describe('BOT_CLOUD=usgov', () => {
  it("builds the adapter's authentication from the botframework.azure.us endpoints", () => {
    const config = readConfig({
      APPROVERS: 'sam.oncall@contoso.com',
      DEFENDER_ACCESS_TOKEN: 'x',
      ...REGISTERED,
      BOT_CLOUD: 'usgov',
    });
    expect(botAuthenticationOptions(config.bot)).toMatchObject({
      MicrosoftAppId: APP_ID,
      MicrosoftAppType: 'SingleTenant',
      MicrosoftAppTenantId: TENANT,
      ChannelService: 'https://botframework.azure.us',
      OAuthUrl: 'https://tokengcch.botframework.azure.us/',
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
      ToChannelFromBotOAuthScope: 'https://api.botframework.us',
      ToBotFromChannelTokenIssuer: 'https://api.botframework.us',
      ToBotFromChannelOpenIdMetadataUrl:
        'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    });
  });

  describe('over HTTP', () => {
    let keys: Server;
    let stack: Stack;
    let sign: (issuer: string, serviceUrl: string) => Promise<string>;

    beforeAll(async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const jwk: JWK = { ...(await exportJWK(publicKey)), kid: KID, use: 'sig' };
      keys = createServer((req, res) => {
        const base = `http://127.0.0.1:${(keys.address() as AddressInfo).port}`;
        res.setHeader('content-type', 'application/json');
        if (req.url === '/openid')
          res.end(JSON.stringify({ issuer: 'https://api.botframework.us', jwks_uri: `${base}/keys` }));
        else if (req.url === '/keys') res.end(JSON.stringify({ keys: [jwk] }));
        else res.writeHead(404).end('{}');
      });
      await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
      const port = (keys.address() as AddressInfo).port;
      sign = (issuer, serviceUrl) =>
        new SignJWT({ serviceurl: serviceUrl })
          .setProtectedHeader({ alg: 'RS256', kid: KID })
          .setIssuer(issuer)
          .setAudience(APP_ID)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
      stack = await startStack({
        workers: false,
        env: {
          ...REGISTERED,
          BOT_CLOUD: 'usgov',
          ToBotFromChannelOpenIdMetadataUrl: `http://127.0.0.1:${port}/openid`,
        },
      });
    });
    afterAll(async () => {
      await stack?.close();
      await new Promise<void>((resolve) => keys?.close(() => resolve()));
    });

    async function postSigned(issuer: string): Promise<number> {
      const thread = channelThread();
      // A typing activity: authenticated and routed like any other, with nothing to answer.
      const activity = {
        type: 'typing',
        id: 'typing-1',
        channelId: 'msteams',
        serviceUrl: stack.teams.url,
        conversation: { id: thread.id, conversationType: 'channel', tenantId: TENANT },
        from: { id: USERS.requester.id, name: USERS.requester.name },
        recipient: { id: `28:${APP_ID}`, name: 'LR Bot' },
        channelData: { tenant: { id: TENANT } },
      };
      const response = await fetch(`${stack.botUrl}/api/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await sign(issuer, stack.teams.url)}`,
        },
        body: JSON.stringify(activity),
      });
      return response.status;
    }

    it('accepts a token from the US Government channel', async () => {
      expect(await postSigned('https://api.botframework.us')).toBe(200);
    });

    it("refuses the public cloud's issuer", async () => {
      expect(await postSigned('https://api.botframework.com')).toBe(401);
    });
  });
});
