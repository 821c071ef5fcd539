// Operator endpoints: /livez, /readyz, /metrics and the Bull Board queue dashboard at /queues. Served on the bot's
// port, or on METRICS_PORT apart from Teams' traffic (then /healthz too, for a worker-only process's probes).
import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

const QUEUE_DASHBOARD_PATH = '/queues';

export interface OpsRouteDeps {
  readiness: Readiness;
  metrics: Metrics;
  /** Mounts Bull Board behind basic auth; absent = no dashboard (404). */
  dashboard?: { user: string; password: string; queues: Queue[] };
  /** Also answer /healthz (Redis reachable) — for a server that is not the bot's own. */
  healthz?: boolean;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Basic auth in constant time; anything else gets 401 with a challenge so a browser asks for the password. */
function basicAuth(user: string, password: string): express.RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ')
      ? Buffer.from(header.slice(6), 'base64').toString('utf8')
      : '';
    const colon = decoded.indexOf(':');
    const ok =
      colon > 0 &&
      sameSecret(decoded.slice(0, colon), user) &&
      sameSecret(decoded.slice(colon + 1), password);
    if (ok) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="lr-bot queues", charset="UTF-8"');
    res.status(401).json({ error: 'authentication required' });
  };
}

export function createOpsRouter(deps: OpsRouteDeps): express.Router {
  const router = express.Router();

  router.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  if (deps.healthz)
    router.get('/healthz', async (_req, res) => {
      const ok = await deps.readiness.redisReachable();
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', redis: ok ? 'up' : 'down' });
    });
  router.get('/readyz', async (_req, res) => {
    const report = await deps.readiness.check();
    res
      .status(report.ready ? 200 : 503)
      .json({ status: report.ready ? 'ready' : 'not ready', ...report.checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.metrics.contentType);
    res.send(await deps.metrics.render());
  });

  if (deps.dashboard) {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({
      queues: deps.dashboard.queues.map((queue) => new BullMQAdapter(queue)),
      serverAdapter,
    });
    router.use(
      QUEUE_DASHBOARD_PATH,
      basicAuth(deps.dashboard.user, deps.dashboard.password),
      serverAdapter.getRouter() as express.Router,
    );
  }
  return router;
}
