// The HTTP surface: Bot Framework messages, health, and result downloads (the bot's own links, never Defender's on a card).
import type { Server } from 'node:http';
import type { CloudAdapter } from 'botbuilder';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RequestStore } from '../core/request-store.js';
import { BudgetExhaustedError } from '../defender/defender-budget.js';
import type { DefenderApi } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { openLink, type ResultLinkStore } from '../defender/result-links.js';
import type { LrBot } from './lr-bot.js';

export interface HttpDeps {
  adapter: CloudAdapter;
  bot: LrBot;
  redis: Redis;
  requests: RequestStore;
  links: ResultLinkStore;
  /** Budgeted client that mints a result's Defender URL when its link is first opened. */
  defender: Pick<DefenderApi, 'getResultDownloadLink'>;
  logger: Logger;
}

async function redisHealthy(redis: Redis): Promise<boolean> {
  try {
    const pong = await Promise.race([
      redis.ping(),
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref()),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  }
}

const GET_FRESH_LINK =
  'Press <b>Get fresh link</b> on the request card in Teams for a new one. Nothing needs to run again.';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Why Defender gave no URL for a link, in words for the person who clicked it. */
function downloadFailure(error: unknown): {
  status: number;
  title: string;
  body: string;
  retryAfterS?: number;
} {
  const busy = (waitMs: number) => {
    const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
    return {
      status: 503,
      title: 'Defender is busy',
      body: `Defender's API limit for your organisation is used up for the moment. Try this link again in ${retryAfterS} seconds; it keeps working until the expiry time on the card.`,
      retryAfterS,
    };
  };
  if (error instanceof BudgetExhaustedError) return busy(error.waitMs);
  if (error instanceof DefenderApiError && error.kind === 'throttled')
    return busy(error.retryAfterMs ?? 30_000);
  if (error instanceof DefenderApiError && !error.retryable)
    return {
      status: 502,
      title: 'Defender did not give this result',
      body: `Defender answered ${escapeHtml(error.code || String(error.status))}: ${escapeHtml(error.message)}. The result may no longer be kept; run the command again to collect it anew.`,
    };
  return {
    status: 503,
    title: 'Defender did not answer',
    body: 'Defender could not be reached just now. Try this link again in a minute; it keeps working until the expiry time on the card.',
    retryAfterS: 60,
  };
}

function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:system-ui;max-width:40em;margin:3em auto"><h1>${title}</h1><p>${body}</p></body>`;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.post('/api/messages', express.json({ limit: '1mb' }), async (req, res) => {
    await deps.adapter.process(req, res, (context) => deps.bot.run(context));
  });

  app.get('/healthz', async (_req, res) => {
    const ok = await redisHealthy(deps.redis);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', redis: ok ? 'up' : 'down' });
  });

  app.get('/download/:requestId/:index/:linkId', async (req, res) => {
    const { requestId, linkId } = req.params;
    const index = Number(req.params.index);
    const request = /^LR-[0-9A-Z]{6}$/.test(requestId) ? await deps.requests.get(requestId) : null;
    const progress = request && Number.isInteger(index) ? request.progress[index] : undefined;
    // The link must be the one this command's card shows now; older or forged ids get the same answer.
    const target = progress?.link?.id === linkId ? await deps.links.resolve(linkId) : null;
    if (!target || !request?.actionId) {
      res.status(410).type('html').send(page('This download link has expired', GET_FRESH_LINK));
      return;
    }
    let url: string;
    try {
      url = await openLink(deps, linkId, target, request.actionId, index);
    } catch (error) {
      const failure = downloadFailure(error);
      deps.logger.warn(
        { requestId, index, status: failure.status, err: String(error) },
        'result download failed',
      );
      if (failure.retryAfterS) res.setHeader('Retry-After', String(failure.retryAfterS));
      res.status(failure.status).type('html').send(page(failure.title, failure.body));
      return;
    }
    deps.logger.info({ requestId, index }, 'result download');
    res.redirect(302, url);
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  return app;
}

export function listen(app: express.Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? '0.0.0.0', () => resolve(server));
    server.once('error', reject);
  });
}
