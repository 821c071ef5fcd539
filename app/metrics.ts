// Prometheus metrics behind one small interface: the request store, the Defender client and the card port are
// observed from the outside (core stays pure). Counters and histograms are per process (Prometheus sums them);
// gauges that describe the shared state (queues, budgets, sessions) are read from Redis on scrape, so every process
// reports the same value: aggregate those with max(), not sum().
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { Rate } from '../core/durations.js';
import type { RedisKeys } from '../core/redis-keys.js';
import { isFinal } from '../core/request.js';
import type { RequestStoreObserver } from '../core/request-store.js';
import { ARRIVAL_SKEW_FLOOR_MS, ARRIVAL_SKEW_MARGIN } from '../defender/defender-budget.js';
import type { DefenderApi } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import { type CardPort, TeamsApiError } from '../jobs/card-port.js';

export interface MetricsDeps {
  redis: Redis;
  keys: RedisKeys;
  clock: Clock;
  queues: () => Queue[];
  runRate: Rate;
  apiRates: Rate[];
  maxSessions: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** Hears committed request changes: transitions, outcomes, approval and submission times. */
  readonly requests: RequestStoreObserver;
  /** The client with every call counted by route template and HTTP status. */
  instrumentDefender<T extends DefenderApi>(api: T): T;
  /** The card port with every update counted by outcome (Teams 429s apart). */
  instrumentCardPort(port: CardPort): CardPort;
  /** Requests the reconciler repaired, by what it did (registered here; the reconciler increments it). */
  readonly reconcilerRepairs: Counter<'kind'>;
  /** Counts one answer Teams gave the connector: every reply, card send and update, 429s included. */
  teamsCall(call: string, status: number): void;
  contentType: string;
  render(): Promise<string>;
}

/** Route templates, never URLs: the label set stays bounded whatever ids are called. */
const DEFENDER_ROUTES: Record<keyof DefenderApi, string> = {
  findMachines: 'GET /api/machines',
  listLibraryFiles: 'GET /api/libraryfiles',
  runLiveResponse: 'POST /api/machines/{id}/runliveresponse',
  getMachineAction: 'GET /api/machineactions/{id}',
  listMachineActions: 'GET /api/machineactions',
  cancelMachineAction: 'POST /api/machineactions/{id}/cancel',
  getResultDownloadLink: 'GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink',
  downloadResult: 'GET {result link}',
};

const SUCCESS_STATUS: Partial<Record<keyof DefenderApi, string>> = { runLiveResponse: '201' };

/** Seconds: from a few to a day (approvals wait, Defender queues actions for offline devices). */
const LONG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

const seconds = (fromIso: string | undefined, toIso: string | undefined): number | null => {
  if (!fromIso || !toIso) return null;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
};

/** The budget windows as defender-budget.ts keeps them in Redis (each lengthened by the arrival-skew margin). */
function budgetWindows(deps: MetricsDeps): Array<{ kind: string; rate: Rate; key: string; label: string }> {
  const widen = (rate: Rate): Rate => ({
    count: rate.count,
    durationMs:
      rate.durationMs + Math.max(Math.ceil(rate.durationMs * ARRIVAL_SKEW_MARGIN), ARRIVAL_SKEW_FLOOR_MS),
  });
  const of = (kind: string, rate: Rate) => {
    const wide = widen(rate);
    return {
      kind,
      rate: wide,
      key: deps.keys.limiter(`defender-${kind}:${wide.count}/${wide.durationMs}`),
      label: `${rate.count}/${rate.durationMs / 1000}s`,
    };
  };
  return [of('run', deps.runRate), ...deps.apiRates.map((rate) => of('api', rate))];
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'lr-bot' });
  collectDefaultMetrics({ register: registry });

  const transitions = new Counter({
    name: 'lr_request_transitions_total',
    help: 'Committed request state changes, by the state entered.',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: 'lr_requests_finished_total',
    help: 'Requests that reached a final state, by outcome (Succeeded, Failed, TimeOut, Cancelled, Rejected, Expired).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const approvalWait = new Histogram({
    name: 'lr_approval_wait_seconds',
    help: 'From the request to its approval or rejection.',
    labelNames: ['decision'] as const,
    buckets: LONG_BUCKETS,
    registers: [registry],
  });
  const toSubmission = new Histogram({
    name: 'lr_approval_to_submission_seconds',
    help: 'From approval to Defender accepting runliveresponse (includes waiting for budget and sessions).',
    buckets: LONG_BUCKETS,
    registers: [registry],
  });
  const toFinalCard = new Histogram({
    name: 'lr_approval_to_final_card_seconds',
    help: 'From approval to the card showing the final state in Teams.',
    buckets: LONG_BUCKETS,
    registers: [registry],
  });
  const defenderCalls = new Counter({
    name: 'lr_defender_calls_total',
    help: 'Defender API calls by route template and HTTP status (0 = no answer; 429 = throttled).',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const defenderSeconds = new Histogram({
    name: 'lr_defender_call_seconds',
    help: 'Defender API call duration by route template.',
    labelNames: ['route'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const cardUpdates = new Counter({
    name: 'lr_card_updates_total',
    help: 'Card updates sent to Teams by outcome (ok, throttled = Teams answered 429, failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const teamsCalls = new Counter({
    name: 'lr_teams_calls_total',
    help: 'HTTP calls to the Teams connector (turn replies, card sends and updates, roster look-ups) by call and status (429 = throttled, each retry counted; 0 = no answer; others by class).',
    labelNames: ['call', 'status'] as const,
    registers: [registry],
  });
  const reconcilerRepairs = new Counter({
    name: 'lr_reconciler_repairs_total',
    help: 'Requests the reconciler found without the job their state needs, by what it did.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });

  // Shared state, read from Redis when scraped.
  new Gauge({
    name: 'lr_metrics_redis_up',
    help: '1 when this scrape could reach Redis (the gauges below read the shared state from it).',
    registers: [registry],
    async collect() {
      try {
        this.set((await deps.redis.ping()) === 'PONG' ? 1 : 0);
      } catch {
        this.set(0);
      }
    },
  });
  /** A gauge's collect that reads Redis: while Redis is away the scrape still answers (lr_metrics_redis_up says 0). */
  const fromRedis = <L extends string>(read: (gauge: Gauge<L>) => Promise<void>) =>
    async function (this: Gauge<L>): Promise<void> {
      await read(this).catch(() => undefined);
    };
  new Gauge({
    name: 'lr_requests_active',
    help: 'Requests approved and waiting to be submitted (queued) or running at Defender (inflight).',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect: fromRedis(async (gauge) => {
      const [queued, inflight] = await Promise.all([
        deps.redis.zcard(deps.keys.queue()),
        deps.redis.zcard(deps.keys.inflight()),
      ]);
      gauge.set({ phase: 'queued' }, queued);
      gauge.set({ phase: 'inflight' }, inflight);
    }),
  });
  new Gauge({
    name: 'lr_defender_sessions',
    help: 'Live response sessions held by the bot (in_use) and its limit (max).',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect: fromRedis(async (gauge) => {
      gauge.set({ kind: 'in_use' }, await deps.redis.hlen(deps.keys.sessions()));
      gauge.set({ kind: 'max' }, deps.maxSessions);
    }),
  });
  const windows = budgetWindows(deps);
  new Gauge({
    name: 'lr_defender_budget_remaining',
    help: 'Defender calls left in each budget window (run = runliveresponse, api = every other call).',
    labelNames: ['kind', 'window'] as const,
    registers: [registry],
    collect: fromRedis(async (gauge) => {
      const now = deps.clock.now();
      for (const w of windows) {
        const used = await deps.redis.zcount(w.key, now - w.rate.durationMs, '+inf');
        gauge.set({ kind: w.kind, window: w.label }, Math.max(0, w.rate.count - used));
      }
    }),
  });
  new Gauge({
    name: 'lr_queue_jobs',
    help: 'Jobs per BullMQ queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    collect: fromRedis(async (gauge) => {
      for (const queue of deps.queues()) {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        for (const [state, count] of Object.entries(counts)) gauge.set({ queue: queue.name, state }, count);
      }
    }),
  });
  new Gauge({
    name: 'lr_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job ready to run but not started, per queue (0 when none waits).',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect: fromRedis(async (gauge) => {
      const now = deps.clock.now();
      for (const queue of deps.queues()) {
        const [oldest] = await queue.getJobs(['waiting', 'prioritized'], 0, 0, true);
        gauge.set({ queue: queue.name }, oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0);
      }
    }),
  });
  /** Final cards already timed by this process; bounded so a long-running process does not grow. */
  const finalCardsSeen = new Set<string>();

  return {
    registry,
    reconcilerRepairs,
    teamsCall(call, status) {
      // 429 exactly (what to alert on); other statuses by class so the label set stays small.
      const label = status === 429 || status === 0 ? String(status) : `${Math.floor(status / 100)}xx`;
      teamsCalls.inc({ call, status: label });
    },
    contentType: registry.contentType,
    render: () => registry.metrics(),
    requests: {
      committed({ before, after }) {
        if (before?.state === after.state) {
          if (!before?.actionId && after.actionId) {
            const wait = seconds(after.decision?.at, after.submission?.submittedAt);
            if (wait !== null) toSubmission.observe(wait);
          }
          return;
        }
        transitions.inc({ state: after.state });
        if (isFinal(after.state)) finished.inc({ outcome: after.state });
        if (before?.state === 'AwaitingApproval' && after.decision) {
          const wait = seconds(after.createdAt, after.decision.at);
          if (wait !== null) approvalWait.observe({ decision: after.decision.kind }, wait);
        }
        if (!before?.actionId && after.actionId) {
          const wait = seconds(after.decision?.at, after.submission?.submittedAt);
          if (wait !== null) toSubmission.observe(wait);
        }
      },
    },
    instrumentDefender<T extends DefenderApi>(api: T): T {
      const wrapped = { ...api };
      for (const name of Object.keys(DEFENDER_ROUTES) as Array<keyof DefenderApi>) {
        const original = api[name] as (...args: unknown[]) => Promise<unknown>;
        if (typeof original !== 'function') continue;
        const route = DEFENDER_ROUTES[name];
        (wrapped as Record<string, unknown>)[name] = async (...args: unknown[]) => {
          const started = performance.now();
          try {
            const result = await original.apply(api, args);
            defenderCalls.inc({ route, status: SUCCESS_STATUS[name] ?? '200' });
            return result;
          } catch (error) {
            const status = error instanceof DefenderApiError ? String(error.status) : '0';
            defenderCalls.inc({ route, status });
            throw error;
          } finally {
            defenderSeconds.observe({ route }, (performance.now() - started) / 1000);
          }
        };
      }
      return wrapped;
    },
    instrumentCardPort(port) {
      return {
        async updateCard(request, card) {
          try {
            await port.updateCard(request, card);
          } catch (error) {
            const throttled = error instanceof TeamsApiError && error.status === 429;
            cardUpdates.inc({ outcome: throttled ? 'throttled' : 'failed' });
            throw error;
          }
          cardUpdates.inc({ outcome: 'ok' });
          if (
            isFinal(request.state) &&
            request.decision?.kind === 'approved' &&
            !finalCardsSeen.has(request.id)
          ) {
            if (finalCardsSeen.size >= 10_000) finalCardsSeen.clear();
            finalCardsSeen.add(request.id);
            const wait = seconds(request.decision.at, new Date(deps.clock.now()).toISOString());
            if (wait !== null) toFinalCard.observe(wait);
          }
        },
      };
    },
  };
}
