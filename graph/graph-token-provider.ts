// App-only Microsoft Graph tokens for the on-call look-ups: MSAL client credentials with one
// ConfidentialClientApplication per process (its cache returns the token until shortly before expiry), as the Defender
// token provider does; messages name the GRAPH_* settings and Graph's permissions, never the secret.
import { AuthError, ConfidentialClientApplication, type INetworkModule } from '@azure/msal-node';
import type { TokenProvider } from '../defender/token-provider.js';

export interface GraphTokenOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Default `https://login.microsoftonline.com`; GCC High / DoD `https://login.microsoftonline.us`. */
  authorityHost?: string;
  /** Graph's root; the token's scope is its `/.default`. */
  graphUrl: string;
  /** MSAL's HTTP client, for tests that route sign-in to a local endpoint. */
  networkClient?: INetworkModule;
  /** OpenID metadata and cloud discovery JSON, so MSAL makes no discovery calls (offline tests). */
  authorityMetadata?: string;
  cloudDiscoveryMetadata?: string;
}

/** Graph's token audience: the national cloud's Graph host; a local simulator or proxy gets the global one. */
export function graphScopeFor(graphUrl: string): string {
  const host = new URL(graphUrl).hostname.toLowerCase();
  const known = [
    'graph.microsoft.com',
    'graph.microsoft.us',
    'dod-graph.microsoft.us',
    'microsoftgraph.chinacloudapi.cn',
  ];
  return `https://${known.includes(host) ? host : 'graph.microsoft.com'}/.default`;
}

export function createGraphTokenProvider(options: GraphTokenOptions): TokenProvider {
  const authorityHost = (options.authorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      authority: `${authorityHost}/${options.tenantId}`,
      clientSecret: options.clientSecret,
      ...(options.authorityMetadata ? { authorityMetadata: options.authorityMetadata } : {}),
      ...(options.cloudDiscoveryMetadata ? { cloudDiscoveryMetadata: options.cloudDiscoveryMetadata } : {}),
    },
    ...(options.networkClient ? { system: { networkClient: options.networkClient } } : {}),
  });
  const scope = graphScopeFor(options.graphUrl);
  let inFlight: Promise<string> | undefined;

  const acquire = async (): Promise<string> => {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes: [scope] });
      if (result?.accessToken) return result.accessToken;
    } catch (error) {
      const said =
        error instanceof AuthError
          ? (error.errorMessage || error.errorCode)
              .split(options.clientSecret)
              .join('[redacted]')
              .split(/\r?\n/)[0]
          : 'unknown error';
      throw new Error(
        `Could not get a Microsoft Graph token for the on-call look-ups: check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET (by default the bot registration's MicrosoftAppTenantId, MicrosoftAppId and MicrosoftAppPassword). Entra ID said: ${said}`,
      );
    }
    throw new Error('Could not get a Microsoft Graph token: Entra ID returned none');
  };

  return {
    getToken() {
      // Concurrent look-ups share one token request.
      inFlight ??= acquire().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
