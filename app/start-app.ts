// The composition root: builds every dependency once from Config and starts the HTTP server and/or the workers.
import type { Server } from 'node:http';
import {
  CloudAdapter,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from 'botbuilder';
import type { Request } from 'express';
import express from 'express';
import type { Logger } from 'pino';
import { createHttpApp, listen } from '../bot/http-server.js';
import { LrBot } from '../bot/lr-bot.js';
import { createTeamsCardPort, createTeamsCardPoster } from '../bot/teams-card-port.js';
import { TeamsPacedAuthentication } from '../bot/teams-rate-policy.js';
import { createTeamsRoster } from '../bot/teams-roster.js';
import { renderCardOf } from '../cards/fan-out-card.js';
import { type Clock, systemClock } from '../core/clock.js';
import { redisKeys } from '../core/redis-keys.js';
import { createRequestStore } from '../core/request-store.js';
import { createSlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { createBudgetedDefender } from '../defender/budgeted-defender.js';
import { createDefenderBudget } from '../defender/defender-budget.js';
import { createDefenderClient } from '../defender/defender-client.js';
import { createDeviceFinder } from '../defender/device-finder.js';
import { createResultLinkStore } from '../defender/result-links.js';
import { createSessionSlots } from '../defender/session-slots.js';
import { createSharedLookup } from '../defender/shared-lookup.js';
import {
  createMsalTokenProvider,
  createStaticTokenProvider,
  type TokenProvider,
} from '../defender/token-provider.js';
import { explainFailure } from '../flows/handle-message.js';
import { createGraphClient } from '../graph/graph-client.js';
import { createGraphTokenProvider } from '../graph/graph-token-provider.js';
import { createOnCallDirectory } from '../graph/on-call-directory.js';
import { createCancelProcessor, createExpireProcessor } from '../jobs/cancel-processor.js';
import { createCardProcessor, threadLimiterKey } from '../jobs/card-processor.js';
import { crashBeforeEffect } from '../jobs/dispatch-effects.js';
import { createEscalateProcessor } from '../jobs/escalate-processor.js';
import { createFreshLinksProcessor } from '../jobs/fresh-links-processor.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { createJobScheduler } from '../jobs/job-scheduler.js';
import { createPollProcessor } from '../jobs/poll-processor.js';
import { createQueuePlaces } from '../jobs/queue-place.js';
import { createReconcileProcessor } from '../jobs/reconcile-processor.js';
import { createResultProcessor } from '../jobs/result-processor.js';
import { createSubmitProcessor } from '../jobs/submit-processor.js';
import { startWorkers } from '../jobs/workers.js';
import { createTab, signInDownloadLinkOf } from '../web/create-tab.js';
import { createAuditSink } from './audit-sink.js';
import type { Config } from './config.js';
import { createMetrics } from './metrics.js';
import { createOpsRouter } from './ops-routes.js';
import { createReadiness } from './readiness.js';
import { createRedisConnection } from './redis-connection.js';

export interface StartOptions {
  /** Serve /api/messages, /healthz and /download. */
  http: boolean;
  /** Run the BullMQ workers in this process. */
  workers: boolean;
  logger: Logger;
  clock?: Clock;
  /** Host to bind; default `config.host`. Without an app id only a loopback address is accepted. */
  host?: string;
  /** Replaces the token provider built from the configuration (tests route MSAL to a local sign-in endpoint). */
  defenderTokens?: TokenProvider;
  /** Serves the local Teams host page at /tab/local-host (demo and tests only; nothing enables it in production). */
  localTabHost?: (req: Request) => string;
}

export interface RunningApp {
  port: number;
  /** Port of the operator endpoints (/metrics, /readyz, /queues): METRICS_PORT's server, else `port`. */
  opsPort: number;
  close(): Promise<void>;
}

/** In a Teams turn, Defender calls may wait this long for budget before the user is told to try again. */
const TURN_BUDGET_WAIT_MS = 3_000;
/** The library rarely changes; a new upload shows up within this time. */
const LIBRARY_CACHE_MS = 5 * 60_000;
/**
 * The busy-device check reads one tenant-wide list of running live responses, at most this old: a burst of requests
 * costs one call. A session started elsewhere within this window is caught by Defender at submission instead
 * (ActiveRequestAlreadyExists, shown on the card).
 */
const ACTIVE_ACTIONS_CACHE_MS = 1_000;
/** Jobs can afford to wait longer for budget than a person can. */
const JOB_BUDGET_WAIT_MS = 60_000;
/** A reply in a Teams turn waits at most this long for the Teams rate (Teams allows a message turn ~15 s). */
const TURN_TEAMS_WAIT_MS = 8_000;
/** Someone who opened a download link waits at most this long for API budget before a "try again" page. */
const DOWNLOAD_BUDGET_WAIT_MS = 10_000;

function tokenProviderOf(config: Config): TokenProvider {
  const auth = config.defender.auth;
  switch (auth.kind) {
    case 'token':
      return createStaticTokenProvider(auth.accessToken);
    case 'secret':
      return createMsalTokenProvider({ ...auth, scope: config.defender.scope });
    case 'certificate':
      return createMsalTokenProvider({ ...auth, scope: config.defender.scope });
  }
}

/** Graph's token for the on-call look-ups: a fixed one (simulator, tests) or MSAL client credentials. */
function graphTokensOf(graph: NonNullable<Config['onCall']['graph']>): TokenProvider {
  if (graph.auth.kind === 'token') return createStaticTokenProvider(graph.auth.accessToken);
  return createGraphTokenProvider({ ...graph.auth, graphUrl: graph.apiUrl });
}

/** What botbuilder's authentication is built from: the credentials and the cloud's channel endpoints. */
export function botAuthenticationOptions(bot: Config['bot']): ConfigurationBotFrameworkAuthenticationOptions {
  // Anonymous: no credentials at all, so botbuilder disables authentication (its SingleTenant check wants an app id).
  if (!bot.appId) return { ...bot.channel, ValidateAuthority: true };
  return {
    MicrosoftAppId: bot.appId,
    MicrosoftAppType: bot.appType,
    MicrosoftAppTenantId: bot.appTenantId,
    // botbuilder refuses a managed identity that is given a password.
    ...(bot.appType === 'UserAssignedMSI' ? {} : { MicrosoftAppPassword: bot.appPassword }),
    ...bot.channel,
    ValidateAuthority: true,
  };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startApp(config: Config, options: StartOptions): Promise<RunningApp> {
  const { logger } = options;
  const host = options.host ?? config.host;
  // Anonymous mode runs any activity it is sent, with no signature: from anywhere but this machine that is an open door.
  if (!config.bot.appId && !LOOPBACK.has(host))
    throw new Error(`without MicrosoftAppId the bot listens on loopback only, not on ${host}`);
  const clock = options.clock ?? systemClock;
  const keys = redisKeys(config.redis.prefix);
  // State commands fail fast while Redis is away (health says so) instead of queueing without bound.
  const redis = createRedisConnection(config.redis, 'state');
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  // BullMQ needs its own connection with unlimited retries (its blocking commands wait on Redis).
  const bullConnection = createRedisConnection(config.redis, 'queues');
  bullConnection.on('error', (error) =>
    logger.warn({ err: error.message }, 'redis (queues) connection error'),
  );

  // Test-only (test/reconciler.test.ts): the process kills itself between a write and its effects. Never set it.
  const crashPoint = process.env.LR_TEST_CRASH_BEFORE_EFFECT;
  const beforeEffects = crashPoint ? crashBeforeEffect(crashPoint) : undefined;

  const metrics = createMetrics({
    redis,
    keys,
    clock,
    queues: () => scheduler.queues(),
    runRate: config.defender.runRate,
    apiRates: config.defender.apiRates,
    maxSessions: config.defender.maxSessions,
  });
  const auditSink = createAuditSink(config.ops.audit.sink, logger);
  const requests = createRequestStore({
    redis,
    keys,
    clock,
    auditRetentionMs: config.ops.audit.retentionMs,
    requestRetentionMs: config.redis.requestRetentionMs,
    observers: [auditSink, metrics.requests],
  });
  const limiter = createSlidingWindowLimiter({ redis, clock, keyOf: keys.limiter });
  const budget = createDefenderBudget({
    limiter,
    runRate: config.defender.runRate,
    apiRates: config.defender.apiRates,
  });
  const tokens = options.defenderTokens ?? tokenProviderOf(config);
  const client = metrics.instrumentDefender(
    createDefenderClient({
      baseUrl: config.defender.apiUrl,
      tokens,
      timeoutMs: config.defender.timeoutMs,
      logger,
    }),
  );
  const turnDefender = createBudgetedDefender(client, budget, { maxWaitMs: TURN_BUDGET_WAIT_MS });
  const jobDefender = createBudgetedDefender(client, budget, { maxWaitMs: JOB_BUDGET_WAIT_MS });
  const downloadDefender = createBudgetedDefender(client, budget, { maxWaitMs: DOWNLOAD_BUDGET_WAIT_MS });
  const sessions = createSessionSlots({ redis, keys, maxSessions: config.defender.maxSessions });
  const queuePlace = createQueuePlaces({ requests, budget, sessions });
  const links = createResultLinkStore({ redis, keys });
  // DOWNLOAD_MODE=sso: cards' download buttons open the tab at the request in Teams (files need sign-in).
  const tabDeepLink = signInDownloadLinkOf(config.tab);
  const scheduler = createJobScheduler({
    connection: bullConnection,
    prefix: keys.bullPrefix(),
    onError: (error, queue) => logger.warn({ queue, err: error.message }, 'queue error'),
  });
  const policy = {
    approvers: config.approval.approvers,
    allowSelfApproval: config.approval.allowSelfApproval,
    allowedTenantIds:
      config.allowedTenantIds.length > 0
        ? config.allowedTenantIds
        : config.bot.appTenantId
          ? [config.bot.appTenantId.toLowerCase()]
          : [],
  };

  // Who is on call: APPROVERS' group/tag/shifts entries through Microsoft Graph (no Graph for people-only lists).
  const onCall = createOnCallDirectory({
    tiers: config.onCall.tiers,
    ...(config.onCall.graph
      ? {
          graph: createGraphClient({
            baseUrl: config.onCall.graph.apiUrl,
            tokens: graphTokensOf(config.onCall.graph),
            logger,
          }),
        }
      : {}),
    redis,
    keys,
    clock,
    cacheMs: config.onCall.cacheMs,
  });

  const auth = new TeamsPacedAuthentication(botAuthenticationOptions(config.bot), {
    limiter,
    logger,
    onCall: (call, status) => metrics.teamsCall(call, status),
  });
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    logger.error({ err: error.message, stack: error.stack, activityId: context.activity.id }, 'turn failed');
    if (context.activity.type === 'message')
      await context.sendActivity(explainFailure(error)).catch(() => undefined);
  };

  const closers: Array<() => Promise<unknown>> = [];
  let port = config.port;
  let workersRunning: (() => boolean) | undefined;
  const opsRouter = createOpsRouter({
    readiness: createReadiness({
      redis,
      clock,
      tokens,
      workersRunning: options.workers ? () => workersRunning?.() ?? false : undefined,
    }),
    metrics,
    ...(config.ops.queueDashboard
      ? { dashboard: { ...config.ops.queueDashboard, queues: scheduler.queues() } }
      : {}),
    healthz: true,
  });
  // Operator endpoints go on their own port when one is set, or when no bot HTTP server runs here (worker-only).
  const separateOps = config.ops.metricsPort !== null || !options.http;

  if (options.http) {
    const bot = new LrBot({
      flows: {
        requests,
        defender: turnDefender,
        findDevice: createDeviceFinder(turnDefender),
        library: createSharedLookup({
          redis,
          key: keys.cache('library'),
          ttlMs: LIBRARY_CACHE_MS,
          fetch: () => turnDefender.listLibraryFiles(),
        }),
        activeActions: createSharedLookup({
          redis,
          key: keys.cache('active-actions'),
          ttlMs: ACTIVE_ACTIONS_CACHE_MS,
          fetch: () =>
            turnDefender.listMachineActions({
              type: 'LiveResponse',
              statuses: ['Pending', 'InProgress'],
              top: 10_000,
            }),
        }),
        scheduler,
        policy,
        onCall,
        ...(config.onCall.escalateAfterMs !== null ? { escalateAfterMs: config.onCall.escalateAfterMs } : {}),
        clock,
        logger,
        approvalTimeoutMs: config.approval.timeoutMs,
        fanOutMaxDevices: config.approval.fanOutMaxDevices,
        publicBaseUrl: config.publicBaseUrl,
        ...(tabDeepLink ? { tabDeepLink } : {}),
        ...(beforeEffects ? { beforeEffects } : {}),
        ...(crashPoint === 'cardSent' ? { afterCardSent: () => process.kill(process.pid, 'SIGKILL') } : {}),
        queuePlace,
        ...(config.followUpPreApprovalMs !== null
          ? { followUpPreApprovalMs: config.followUpPreApprovalMs }
          : {}),
      },
      redis,
      keys,
      logger,
      onSend: async (conversationId) => {
        // A reply waits its turn in the thread like a card update; past the wait it goes anyway (a late answer beats
        // none) and Teams may answer 429, which the connector retries. The app-wide rate is the connector's policy.
        const grant = await limiter.acquire(
          threadLimiterKey(conversationId),
          config.teamsThreadRates,
          TURN_TEAMS_WAIT_MS,
        );
        if (!grant.ok)
          logger.warn({ conversationId, waitMs: grant.waitMs }, 'reply sent over the Teams thread rate');
      },
    });
    const tab = createTab(
      { ...config.tab, publicBaseUrl: config.publicBaseUrl },
      {
        redis,
        keys,
        requests,
        roster: createTeamsRoster(adapter, config.bot.appId),
        links,
        defender: downloadDefender,
        scheduler,
        policy,
        onCall,
        clock,
        logger,
        ...(options.localTabHost ? { localHostPage: options.localTabHost } : {}),
      },
    );
    const server: Server = await listen(
      createHttpApp({
        routers: separateOps ? [tab.router] : [tab.router, opsRouter],
        ...(tab.signInDownloadLink ? { signInDownloadLink: tab.signInDownloadLink } : {}),
        adapter,
        bot,
        redis,
        requests,
        links,
        defender: downloadDefender,
        logger,
        scheduler,
        requireAuthorization: Boolean(config.bot.appId),
      }),
      config.port,
      host,
    );
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : config.port;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    if (config.bot.appId)
      logger.info(
        { host, port, appType: config.bot.appType, cloud: config.bot.cloud },
        'listening for Teams on /api/messages (Bot Framework authentication on)',
      );
    else
      logger.warn(
        { host, port },
        `anonymous mode (no MicrosoftAppId): listening on loopback only (${host}:${port}), unsigned activities accepted from this machine only`,
      );
  }

  if (options.workers) {
    const postCard = createTeamsCardPoster(adapter, config.bot.appId);
    const deps: JobDeps = {
      requests,
      defender: jobDefender,
      budget,
      sessions,
      links,
      scheduler,
      clock,
      logger,
      ...(beforeEffects ? { beforeEffects } : {}),
      settings: {
        pollIntervalMs: config.pollIntervalMs,
        channelLabel: () => 'Teams',
        transcriptMaxBytes: 1024 * 1024,
        submitDeadlineMs: config.deadlines.submitMs,
      },
    };
    const workers = startWorkers(
      {
        submit: createSubmitProcessor(deps),
        poll: createPollProcessor(deps),
        fetchResult: createResultProcessor(deps),
        freshLinks: createFreshLinksProcessor(deps),
        cancel: createCancelProcessor(deps),
        expire: createExpireProcessor(deps),
        escalate: createEscalateProcessor({
          requests,
          scheduler,
          onCall,
          roster: createTeamsRoster(adapter, config.bot.appId),
          clock,
          logger,
          ...(beforeEffects ? { beforeEffects } : {}),
        }),
        reconcile: createReconcileProcessor({
          ...deps,
          redis,
          keys,
          reconcile: {
            graceMs: config.reconcileIntervalMs,
            onRepair: (kind) => metrics.reconcilerRepairs.inc({ kind }),
            deadlines: config.deadlines,
            postCard: async (request) => {
              // A fresh card waits its turn in the thread like any other send (a late card beats none).
              await limiter.acquire(
                threadLimiterKey(request.conversationId),
                config.teamsThreadRates,
                10_000,
              );
              const card = await renderCardOf(request, requests, {
                viewer: 'everyone',
                now: new Date(clock.now()),
                publicBaseUrl: config.publicBaseUrl,
                ...(tabDeepLink ? { tabDeepLink } : {}),
              });
              return postCard(request, card);
            },
          },
        }),
        updateCard: createCardProcessor({
          requests,
          teams: metrics.instrumentCardPort(createTeamsCardPort(adapter, config.bot.appId)),
          limiter,
          redis,
          keys,
          clock,
          logger,
          threadRates: config.teamsThreadRates,
          publicBaseUrl: config.publicBaseUrl,
          ...(tabDeepLink ? { tabDeepLink } : {}),
          queuePlace,
          fingerprintTtlMs: config.redis.requestRetentionMs,
          ...(config.followUpPreApprovalMs !== null
            ? { followUpPreApprovalMs: config.followUpPreApprovalMs }
            : {}),
        }),
      },
      {
        connection: bullConnection,
        prefix: keys.bullPrefix(),
        logger,
        lockDurationMs: config.jobLockMs,
        concurrency: { submit: 2, defender: 4, cards: 8 },
      },
    );
    workersRunning = workers.running;
    const keepSchedules = async () => {
      await scheduler.startPolling(config.pollIntervalMs);
      await scheduler.startReconciling(config.reconcileIntervalMs);
    };
    await keepSchedules();
    // The schedules live in Redis; a failover that lost their next run (or a queue emptied by hand) would stop them
    // for good. Upserting keeps an existing schedule's timing and puts back a lost one.
    const scheduleKeeper = setInterval(
      () =>
        void keepSchedules().catch((error) =>
          logger.warn({ err: String(error) }, 'could not renew the job schedules'),
        ),
      config.reconcileIntervalMs,
    );
    scheduleKeeper.unref();
    closers.unshift(async () => clearInterval(scheduleKeeper));
    closers.unshift(() => workers.close());
    logger.info(
      { pollIntervalMs: config.pollIntervalMs, reconcileIntervalMs: config.reconcileIntervalMs },
      'workers started',
    );
  }

  let opsPort = port;
  if (separateOps) {
    const opsApp = express();
    opsApp.disable('x-powered-by');
    opsApp.use(opsRouter);
    opsApp.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    const opsServer = await listen(opsApp, config.ops.metricsPort ?? config.port, host);
    const address = opsServer.address();
    opsPort = typeof address === 'object' && address ? address.port : opsPort;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          opsServer.close(() => resolve());
          opsServer.closeAllConnections();
        }),
    );
    logger.info(
      { host, port: opsPort },
      'operator endpoints on their own port (/metrics, /readyz, /livez, /healthz)',
    );
  }

  return {
    port,
    opsPort,
    async close() {
      // HTTP stops taking requests while the workers let their running jobs finish: together, not one after another.
      await Promise.all(
        closers.map((close) => close().catch((error) => logger.warn({ err: String(error) }, 'close failed'))),
      );
      await scheduler.close().catch((error) => logger.warn({ err: String(error) }, 'close failed'));
      auditSink.close();
      redis.disconnect();
      bullConnection.disconnect();
    },
  };
}
