// App-only Microsoft Graph tokens for the on-call look-ups: the Defender token provider's MSAL client credentials,
// asked for Graph's audience; messages name the GRAPH_* settings and Graph's permissions, never the secret.
import { AuthError, type INetworkModule } from '@azure/msal-node';
import {
  createMsalTokenProvider,
  TokenAcquisitionError,
  type TokenProvider,
} from '../defender/token-provider.js';

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
  const { graphUrl, ...msal } = options;
  // The Defender provider's MSAL client (one per process, concurrent callers share one request), for Graph's audience;
  // only its failures are reworded to name the GRAPH_* settings.
  const tokens = createMsalTokenProvider({ ...msal, scope: graphScopeFor(graphUrl) });
  return {
    async getToken() {
      try {
        return await tokens.getToken();
      } catch (error) {
        const cause = error instanceof Error ? error.cause : undefined;
        if (error instanceof TokenAcquisitionError && cause === undefined)
          throw new Error('Could not get a Microsoft Graph token: Entra ID returned none');
        const said =
          cause instanceof AuthError
            ? (cause.errorMessage || cause.errorCode)
                .split(options.clientSecret)
                .join('[redacted]')
                .split(/\r?\n/)[0]
            : 'unknown error';
        throw new Error(
          `Could not get a Microsoft Graph token for the on-call look-ups: check GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET (by default the bot registration's MicrosoftAppTenantId, MicrosoftAppId and MicrosoftAppPassword). Entra ID said: ${said}`,
        );
      }
    },
  };
}
