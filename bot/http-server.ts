// The HTTP surface: Bot Framework messages, health, and result downloads (the bot's own links, never Defender's on a card).
import type { Server } from 'node:http';
import type { CloudAdapter } from 'botbuilder';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { withLogContext } from '../core/log-context.js';
import type { LiveResponseRequest, ResultFile } from '../core/request.js';
import type { RequestStore } from '../core/request-store.js';
import { resultFileName } from '../core/result-file-name.js';
import { BudgetExhaustedError } from '../defender/defender-budget.js';
import type { DefenderApi } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import {
  linkOpens,
  openLink,
  ResultFetchError,
  type ResultLinkStore,
  sendResultFile,
} from '../defender/result-links.js';
import type { JobScheduler } from '../jobs/job-scheduler.js';
import { activityProblem } from './activity-problem.js';
import { type LrBot, turnLogFields } from './lr-bot.js';
import { PUBLIC_PAGES } from './public-pages.js';

export interface HttpDeps {
  adapter: CloudAdapter;
  bot: LrBot;
  redis: Redis;
  requests: RequestStore;
  links: ResultLinkStore;
  /** Budgeted client that mints a result's Defender URL when its link is first opened. */
  defender: Pick<DefenderApi, 'getResultDownloadLink'>;
  logger: Logger;
  /** Updates a card once a download has told the bot a result file's size and SHA-256. */
  scheduler?: Pick<JobScheduler, 'updateCard'>;
  /** With an app id: a POST without a bearer token is refused here, without botbuilder printing a stack for it. */
  requireAuthorization?: boolean;
  /** More routes (the Teams tab's page and API), mounted before the 404. */
  routers?: express.Router[];
  /** Set when downloads need sign-in: a card's bearer link sends the browser to the tab (this deep link) instead. */
  signInDownloadLink?: (requestId: string) => string;
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

/**
 * Teams sends activities well under this (messages are limited to about 100 KB, invokes are small); a larger body is
 * refused before it is parsed.
 */
const MAX_ACTIVITY_BYTES = '256kb';

/** An error body-parser raises for a malformed request (bad JSON, too large, wrong charset), carrying its 4xx status. */
function clientErrorOf(error: unknown): { status: number; type: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, type } = error as { status?: unknown; type?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500
    ? { status, type: typeof type === 'string' ? type : 'client.error' }
    : undefined;
}

/** Short words for body-parser's error types; nothing from the error itself (it may quote the body or paths). */
const CLIENT_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'the body is not valid JSON',
  'entity.too.large': `the body is larger than ${MAX_ACTIVITY_BYTES}`,
  'encoding.unsupported': 'unsupported content encoding',
  'charset.unsupported': 'unsupported charset',
  'request.aborted': 'the request was aborted',
  'request.size.invalid': 'the body is shorter than its Content-Length',
};

/** Puts a result file's name, size and SHA-256 on the card the first time a download reads it whole. */
async function recordResultFile(
  deps: HttpDeps,
  request: LiveResponseRequest,
  index: number,
  file: ResultFile,
): Promise<void> {
  const known = request.progress[index]?.file;
  if (known) {
    // Chain of custody: the same result must hash the same every time; say so loudly if it ever does not.
    if (known.sha256 !== file.sha256 || known.sizeBytes !== file.sizeBytes)
      deps.logger.warn(
        { requestId: request.id, index, known: known.sha256, served: file.sha256 },
        'result file differs from the one first recorded',
      );
    return;
  }
  const result = await deps.requests.transition(request.id, { type: 'resultFetched', index, file });
  if (result.ok && result.changed) await deps.scheduler?.updateCard(request.id, result.request.version);
}

function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:system-ui;max-width:40em;margin:3em auto"><h1>${title}</h1><p>${body}</p></body>`;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.post('/api/messages', express.json({ limit: MAX_ACTIVITY_BYTES }), async (req, res) => {
    const problem = activityProblem(req.body);
    if (problem) {
      deps.logger.warn({ path: req.path, status: 400, problem, remote: req.ip }, 'activity refused');
      res.status(400).json({ error: `bad activity: ${problem}` });
      return;
    }
    if (deps.requireAuthorization && !/^Bearer \S/.test(req.get('authorization') ?? '')) {
      deps.logger.warn({ path: req.path, status: 401, remote: req.ip }, 'unsigned activity refused');
      res.status(401).json({ error: 'this bot only accepts activities signed by the Bot Framework' });
      return;
    }
    // One log context for the whole turn: its flow's lines, onTurnError's and botbuilder's own (see console-to-log).
    await withLogContext(turnLogFields(req.body), () =>
      deps.adapter.process(req, res, (context) => deps.bot.run(context)),
    );
  });

  for (const [path, { title, paragraphs }] of Object.entries(PUBLIC_PAGES))
    app.get(path, (_req, res) => {
      res.type('html').send(page(escapeHtml(title), paragraphs.map(escapeHtml).join('</p><p>')));
    });

  app.get('/healthz', async (_req, res) => {
    const ok = await redisHealthy(deps.redis);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', redis: ok ? 'up' : 'down' });
  });

  app.get('/download/:requestId/:index/:linkId', async (req, res) => {
    const { requestId, linkId } = req.params;
    if (deps.signInDownloadLink) {
      // DOWNLOAD_MODE=sso: the link alone is no longer the key; Teams opens the tab at the request, which signs in.
      const id = /^LR-[0-9A-Z]{6}$/.test(requestId) ? requestId : '';
      res.redirect(302, deps.signInDownloadLink(id));
      return;
    }
    const index = Number(req.params.index);
    const request = /^LR-[0-9A-Z]{6}$/.test(requestId) ? await deps.requests.get(requestId) : null;
    const progress = request && Number.isInteger(index) ? request.progress[index] : undefined;
    // Any link issued for this command works until its own expiry (also after Get fresh link); forged or expired
    // ids get the same answer.
    const stored = progress ? await deps.links.resolve(linkId) : null;
    const target = stored && linkOpens(stored, linkId, requestId, index, progress?.link?.id) ? stored : null;
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
    // Whoever holds the link may open it: the audit says which result and when (never the link, it is the key).
    await deps.requests.audit(requestId, { action: 'downloaded', detail: `result of command ${index + 1}` });
    // Streamed through the bot so the file gets its name and the card its size and SHA-256; the browser never sees
    // Defender's signed URL.
    let file: ResultFile | null;
    try {
      file = await sendResultFile(res, url, (gzip) => resultFileName(request, index, gzip));
    } catch (error) {
      deps.logger.warn({ requestId, index, err: String(error) }, 'result file not delivered');
      if (res.headersSent) res.destroy();
      else
        res
          .status(502)
          .type('html')
          .send(
            page(
              'Defender did not give this result',
              error instanceof ResultFetchError
                ? `Defender's storage answered ${error.status}. ${GET_FRESH_LINK}`
                : `Defender's storage could not be reached. Try this link again in a minute; it keeps working until the expiry time on the card.`,
            ),
          );
      return;
    }
    if (file) await recordResultFile(deps, request, index, file);
  });

  for (const router of deps.routers ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  // Replaces Express's default error page, which is HTML with the stack trace and the bot's file paths.
  app.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const client = clientErrorOf(error);
    const status = client?.status ?? 500;
    const reason = client ? (CLIENT_ERRORS[client.type] ?? 'bad request') : 'internal error';
    if (client)
      deps.logger.warn({ path: req.path, status, problem: reason, remote: req.ip }, 'request refused');
    else deps.logger.error({ path: req.path, status, err: String(error) }, 'request failed');
    if (res.headersSent) return;
    res
      .status(status)
      .json({ error: req.path === '/api/messages' && client ? `bad activity: ${reason}` : reason });
  });
  return app;
}

/** Binds `host` (the caller decides: loopback only in anonymous mode). */
export function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}
