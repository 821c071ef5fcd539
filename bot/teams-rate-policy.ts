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

  constructor(
    options: ConfigurationBotFrameworkAuthenticationOptions,
    deps: { limiter: Pick<SlidingWindowLimiter, 'acquire'>; logger: Pick<Logger, 'warn'> },
  ) {
    super(options);
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
      create: async (serviceUrl: string, audience?: string) =>
        paced(await inner.create(serviceUrl, audience), this.pace),
    };
  }
}
