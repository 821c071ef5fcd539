// Builds the tab's routes from the configuration and the bot's shared dependencies (called by the composition root).
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApprovalPolicy } from '../core/approval-policy.js';
import type { Clock } from '../core/clock.js';
import type { RedisKeys } from '../core/redis-keys.js';
import type { RequestStore } from '../core/request-store.js';
import type { DefenderApi } from '../defender/defender-client.js';
import type { ResultLinkStore } from '../defender/result-links.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
import type { JobScheduler } from '../jobs/job-scheduler.js';
import { requestDeepLink } from './deep-link.js';
import { createDownloadGrants } from './download-grants.js';
import { createSsoVerifier } from './sso-verifier.js';
import { createTabAccess, type RosterPort } from './tab-access.js';
import { createTabRouter } from './tab-api.js';
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
  deps: {
    redis: Redis;
    keys: RedisKeys;
    requests: RequestStore;
    roster: RosterPort;
    links: ResultLinkStore;
    defender: Pick<DefenderApi, 'getResultDownloadLink'>;
    scheduler: JobScheduler;
    policy: ApprovalPolicy;
    /** Resolves group:, tag: and shifts: approvers (absent when APPROVERS lists people only). */
    onCall?: OnCallDirectory;
    clock: Clock;
    logger: Logger;
    /** The local Teams host page (demo, tests); never set in production. */
    localHostPage?: (req: Request) => string;
    assetsDir?: string;
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
