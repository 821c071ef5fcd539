// Builds the tab's routes from the configuration and the bot's shared dependencies (called by the composition root).
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import { requestDeepLink } from './deep-link.js';
import { createDownloadGrants } from './download-grants.js';
import { createSsoVerifier } from './sso-verifier.js';
import { createTabAccess, type RosterPort } from './tab-access.js';
import { createTabRouter, type TabApiDeps } from './tab-api.js';
import { createTabIndex } from './tab-index.js';

export interface TabSettings {
  ssoAppId: string;
  authorityHost: string;
  downloadMode: 'sso' | 'bearer';
  teamsAppId: string;
  publicBaseUrl: string;
}

/** With sign-in downloads (DOWNLOAD_MODE=sso), the deep link a card's download button opens: the tab at the request. */
export function signInDownloadLinkOf(
  settings: Pick<TabSettings, 'downloadMode' | 'teamsAppId'>,
): ((requestId: string) => string) | undefined {
  return settings.downloadMode === 'sso'
    ? (requestId: string) => requestDeepLink(settings.teamsAppId, requestId)
    : undefined;
}

export function createTab(
  settings: TabSettings,
  deps: Omit<TabApiDeps, 'verifier' | 'access' | 'index' | 'grants' | 'publicBaseUrl'> & {
    redis: Redis;
    keys: RedisKeys;
    roster: RosterPort;
  },
) {
  const verifier = settings.ssoAppId
    ? createSsoVerifier(
        {
          appId: settings.ssoAppId,
          publicHost: new URL(settings.publicBaseUrl).host,
          authorityHost: settings.authorityHost,
          allowedTenantIds: deps.policy.allowedTenantIds,
        },
        deps.clock,
      )
    : null;
  const router = createTabRouter({
    ...deps,
    verifier,
    access: createTabAccess(deps),
    index: createTabIndex(deps),
    grants: createDownloadGrants(deps),
    publicBaseUrl: settings.publicBaseUrl,
  });
  return {
    router,
    /** With sign-in downloads, a card's link leads to the tab at the request. */
    signInDownloadLink: signInDownloadLinkOf(settings),
  };
}
