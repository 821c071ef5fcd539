// Teams allows a bot 50 requests per second per tenant over all conversations. Every call the Bot Framework
// connector makes (turn replies, proactive card updates, member look-ups) takes a slot from one limiter shared by all
// bot processes, right before the call: taken any earlier (before rendering a card, say), requests that then waited
// for the CPU in a busy process would reach Teams closer together than their slots were taken.
import {
  type Activity,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import type {
  AuthenticateRequestResult,
  ClaimsIdentity,
  ConnectorClient,
  ConnectorFactory,
} from 'botframework-connector';
import type { Logger } from 'pino';
import type { SlidingWindowLimiter } from '../core/sliding-window-limiter.js';
import { TEAMS_APP_LIMITER_KEY, TEAMS_APP_RATES } from '../core/teams-limits.js';

/** Past this wait a call goes anyway (a late card beats none); Teams may then answer 429, which is retried. */
const MAX_WAIT_MS = 10_000;

type Pace = () => Promise<void>;

/** What Teams answered one HTTP call: `call` is a bounded label (method and resource kind, never an id). */
export type TeamsCallObserver = (call: string, status: number) => void;

/**
 * The slice of @azure/core-rest-pipeline a ConnectorClient exposes at `client.pipeline` (botbuilder-stdlib's
 * ServiceClientContext); typed here rather than importing a package the bot does not depend on directly.
 */
interface HttpPipeline {
  addPolicy(
    policy: {
      name: string;
      sendRequest(
        request: { method: string; url: string },
        next: (request: { method: string; url: string }) => Promise<{ status: number }>,
      ): Promise<{ status: number }>;
    },
    options?: { afterPhase?: 'Serialize' | 'Retry' | 'Sign' },
  ): void;
}

/** `POST activities` (a reply or a new card), `PUT activities` (a card update), `GET members`, … */
function teamsCallLabel(method: string, url: string): string {
  const path = new URL(url, 'http://x').pathname;
  const kind = /\/activities(\/|$)/.test(path)
    ? 'activities'
    : /\/(pagedmembers|members)(\/|$)/i.test(path)
      ? 'members'
      : /\/conversations\/?$/.test(path)
        ? 'conversations'
        : 'other';
  return `${method.toUpperCase()} ${kind}`;
}

/**
 * Tells `observe` of every HTTP answer, 429s included: placed after the pipeline's retry phase, it sees each attempt
 * the connector's own retry policy makes (a 429 retried there never reaches the caller as an error).
 */
function observed(client: ConnectorClient, observe: TeamsCallObserver): void {
  const pipeline = (client as unknown as { client?: { pipeline?: HttpPipeline } }).client?.pipeline;
  pipeline?.addPolicy(
    {
      name: 'lr-teams-call-observer',
      async sendRequest(request, next) {
        try {
          const response = await next(request);
          observe(teamsCallLabel(request.method, request.url), response.status);
          return response;
        } catch (error) {
          // No answer (refused, reset, timeout): status 0.
          observe(teamsCallLabel(request.method, request.url), 0);
          throw error;
        }
      },
    },
    { afterPhase: 'Retry' },
  );
}

/** The client with every conversations operation waiting for `pace` first. */
function paced(client: ConnectorClient, pace: Pace): ConnectorClient {
  const operations = client.conversations;
  client.conversations = new Proxy(operations, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await pace();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return client;
}

/** Bot Framework authentication whose connector clients keep to Teams' rate per app. */
export class TeamsPacedAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly pace: Pace;
  private readonly observe: TeamsCallObserver | undefined;

  constructor(
    options: ConfigurationBotFrameworkAuthenticationOptions,
    deps: {
      limiter: Pick<SlidingWindowLimiter, 'acquire'>;
      logger: Pick<Logger, 'warn'>;
      /** Hears every answer Teams gives the connector (turn replies, card updates, roster look-ups). */
      onCall?: TeamsCallObserver;
    },
  ) {
    super(options);
    this.observe = deps.onCall;
    this.pace = async () => {
      const grant = await deps.limiter.acquire(TEAMS_APP_LIMITER_KEY, TEAMS_APP_RATES, MAX_WAIT_MS);
      if (!grant.ok) deps.logger.warn({ waitMs: grant.waitMs }, 'Teams call made over the app rate');
    };
  }

  // Turns get their connector from the authentication result; proactive updates from createConnectorFactory.
  override async authenticateRequest(
    activity: Activity,
    authHeader: string,
  ): Promise<AuthenticateRequestResult> {
    return this.pacedResult(await super.authenticateRequest(activity, authHeader));
  }

  override async authenticateStreamingRequest(
    authHeader: string,
    channelIdHeader: string,
  ): Promise<AuthenticateRequestResult> {
    return this.pacedResult(await super.authenticateStreamingRequest(authHeader, channelIdHeader));
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.pacedFactory(super.createConnectorFactory(claimsIdentity));
  }

  private pacedResult(result: AuthenticateRequestResult): AuthenticateRequestResult {
    return result.connectorFactory
      ? { ...result, connectorFactory: this.pacedFactory(result.connectorFactory) }
      : result;
  }

  private pacedFactory(inner: ConnectorFactory): ConnectorFactory {
    return {
      create: async (serviceUrl: string, audience?: string) => {
        const client = await inner.create(serviceUrl, audience);
        if (this.observe) observed(client, this.observe);
        return paced(client, this.pace);
      },
    };
  }
}
