// Lets real MSAL (`@azure/msal-node`) sign in against the simulator's token endpoint without any network:
// static authority metadata so MSAL skips discovery, and a network client that sends its calls to the simulator.
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

export interface OfflineMsalSetup {
  networkClient: INetworkModule;
  authorityMetadata: string;
  cloudDiscoveryMetadata: string;
}

/**
 * For `createMsalTokenProvider({ ..., ...createOfflineMsalSetup(sim.url, { tenantId }) })`. MSAL still builds
 * `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`; the network client swaps that origin for the
 * simulator's and keeps the path, so the simulator sees the tenant in the URL as Entra ID would.
 */
export function createOfflineMsalSetup(
  simulatorUrl: string,
  {
    tenantId,
    authorityHost = 'https://login.microsoftonline.com',
  }: { tenantId: string; authorityHost?: string },
): OfflineMsalSetup {
  const host = new URL(authorityHost).host;
  const authority = `https://${host}/${tenantId}`;
  const target = new URL(simulatorUrl);

  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions) => {
    const redirected = new URL(url);
    redirected.protocol = target.protocol;
    redirected.host = target.host;
    const response = await fetch(redirected, {
      method,
      ...(options?.headers ? { headers: options.headers } : {}),
      ...(options?.body === undefined ? {} : { body: options.body }),
    });
    const text = await response.text();
    const result: NetworkResponse<T> = {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      // MSAL's interface is generic over the body it expects; it validates the JSON itself.
      body: (text ? JSON.parse(text) : {}) as T,
    };
    return result;
  };

  return {
    networkClient: {
      sendGetRequestAsync: (url, options) => send('GET', url, options),
      sendPostRequestAsync: (url, options) => send('POST', url, options),
    },
    authorityMetadata: JSON.stringify({
      token_endpoint: `${authority}/oauth2/v2.0/token`,
      authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
      issuer: `https://${host}/${tenantId}/v2.0`,
      jwks_uri: `https://${host}/${tenantId}/discovery/v2.0/keys`,
    }),
    cloudDiscoveryMetadata: JSON.stringify({
      tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    }),
  };
}
