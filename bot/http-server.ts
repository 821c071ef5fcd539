// The HTTP surface: Bot Framework messages, health, and result downloads (the bot's own links, never Defender's on a card).
import type { Server } from 'node:http';
import type { CloudAdapter } from 'botbuilder';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RequestStore } from '../core/request-store.js';
import type { ResultLinkStore } from '../defender/result-links.js';
import type { LrBot } from './lr-bot.js';

export interface HttpDeps {
  adapter: CloudAdapter;
  bot: LrBot;
  redis: Redis;
  requests: RequestStore;
  links: ResultLinkStore;
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
    const url = progress?.link?.id === linkId ? await deps.links.resolve(linkId) : null;
    if (!url) {
      res
        .status(410)
        .type('html')
        .send(
          page(
            'This download link has expired',
            'Press <b>Get fresh link</b> on the request card in Teams for a new one. Nothing needs to run again.',
          ),
        );
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
