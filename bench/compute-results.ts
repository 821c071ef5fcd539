// Turns what the benchmark recorded into its figures: makespan against the bound, Defender calls by endpoint,
// latencies, Teams pacing, memory, the naive comparison, each target met or missed, and a profile of the waits.
import type { CallRecord } from '../simulator/defender-simulator.js';
import type { BotRun, DrivenRequest } from './drive-bot.js';
import { type Bound, FORMULA } from './lower-bound.js';
import type { NaiveRun } from './naive-driver.js';
import {
  ACTION_MS,
  LIMITS,
  PACED_PER_SECOND,
  PACED_REQUESTS,
  POLL_INTERVAL_MS,
  REQUESTS,
  SPEED,
  TARGETS,
  TEAMS_APP_PER_SECOND,
} from './scenario.js';
import { peakInWindow, type Summary, summarise } from './stats.js';

export interface EndpointCount {
  calls: number;
  throttled: number;
  errors: number;
  perRequest: number;
}

export interface TargetResult {
  /** Which explanation of explain-misses.ts belongs to it. */
  key:
    | 'makespan'
    | 'calls'
    | 'teams'
    | 'approvalCard'
    | 'approvalCardBurst'
    | 'invoke'
    | 'invokeBurst'
    | 'completion';
  name: string;
  target: string;
  value: string;
  met: boolean;
  /** Why it was missed, with figures (set for missed targets). */
  cause?: string;
}

export interface Results {
  generatedAt: string;
  scenario: Record<string, unknown>;
  bound: {
    formula: string;
    simMs: number;
    realMs: number;
    binding: string;
    rateBoundSimMs: number;
    sessionBoundSimMs: number;
  };
  ours: {
    completed: number;
    /** Requests that never got a card, with the bot's last answer. */
    refused: { index: number; reply: string }[];
    /** Requests the bot told to try again at least once, and those answers by wording. */
    refusedAtFirst: number;
    refusals: Record<string, number>;
    timedOut: boolean;
    makespanMs: number;
    makespanRatio: number;
    /** First message to last card showing a final state (before its results were on it). */
    makespanToFinalStateMs: number;
    defender: {
      apiCalls: number;
      apiCallsPerRequest: number;
      throttled: number;
      byEndpoint: Record<string, EndpointCount>;
      blobDownloads: number;
    };
    latencyMs: {
      /** From the requester's first message, through any "try again" answers, to the card. */
      firstAskToApprovalCard: Summary;
      /** From the message whose turn posted the card. */
      messageToApprovalCard: Summary;
      clickToInvokeResponse: Summary;
      /** The bot's own handling of the invoke (HTTP server, from request headers to the end of the answer). */
      invokeServerSide: Summary;
      messageTurnServerSide: Summary;
      completionToCardFinal: Summary;
      completionToCardSettled: Summary;
      /** The paced phase: requests arriving at PACED_PER_SECOND, each card rejected on arrival. */
      pacedMessageToApprovalCard: Summary;
      pacedClickToInvokeResponse: Summary;
      pacedMessageTurnServerSide: Summary;
      pacedInvokeServerSide: Summary;
    };
    /** Paced requests that got no card, with the bot's answer. */
    pacedRefused: string[];
    pacedDefenderCalls: number;
    teams: {
      highestOpsPerThreadPerSecond: number;
      highestAcceptedOpsPerThreadPerSecond: number;
      tenantPeakOpsPerSecond: number;
      /** Operations over Teams' 50 per second per app per tenant (not enforced by the fake): would-be 429s. */
      overTenantLimit: number;
      throttled: number;
      operations: Record<string, number>;
      cardUpdatesPerRequest: number;
      largestActivityBytes: number;
      refusedTooLarge: number;
    };
    redis: {
      bytesPerRequestInfo: number;
      bytesPerRequestKeys: number;
      byFamily: Record<string, { keys: number; bytes: number; bytesPerRequest: number }>;
    };
    process: { rssIdleMB: number; rssPeakMB: number; rssEndMB: number; heapUsedEndMB: number };
    loopDelayMs: BotRun['loopDelayMs'];
  };
  naive: {
    completed: number;
    failed: number;
    makespanMs: number;
    makespanRatio: number;
    apiCalls: number;
    apiCallsPerRequest: number;
    throttled: number;
    byEndpoint: Record<string, EndpointCount>;
  };
  comparison: { makespan: number; callsPerRequest: number; throttled: number | null };
  targets: TargetResult[];
  profile: {
    turn: { toResolveCall: Summary; resolveToCard: Summary };
    lifecycle: {
      approveToSubmit: Summary;
      submitToActionFinal: Summary;
      actionFinalToCardFinal: Summary;
      cardFinalToSettled: Summary;
    };
    submissions: {
      firstSubmitAfterFirstMessageMs: number;
      lastSubmitLagBehindBoundMs: number;
      /** runliveresponse answers by status. */
      runAnswers: Record<string, number>;
      /** How far each 10-call window of submissions ran behind the ideal schedule. */
      lagByWindowMs: number[];
    };
    /** Where the last request's time went. */
    lastRequest: Record<string, number | string | undefined>;
    botWarnings: Record<string, number>;
    /** Cards that showed each "Queued: …" notice while waiting. */
    queueNotices: Record<string, number>;
  };
  curves: { boundMs: number[]; oursMs: number[]; naiveMs: number[] };
}

/** A Defender call's endpoint, as the report groups them. */
export function endpointOf(call: CallRecord): string {
  const path = call.path;
  if (path.startsWith('/blob/')) return 'blob';
  if (call.method === 'POST' && /\/runliveresponse$/i.test(path)) return 'POST runliveresponse';
  if (call.method === 'POST' && /\/cancel$/i.test(path)) return 'POST machineactions/{id}/cancel';
  if (/GetLiveResponseResultDownloadLink/i.test(path)) return 'GET …/GetLiveResponseResultDownloadLink';
  if (path === '/api/machines') return 'GET machines?$filter (resolve device)';
  if (/^\/api\/machines\/[^/]+$/.test(path)) return 'GET machines/{id}';
  if (path === '/api/libraryfiles') return 'GET libraryfiles';
  if (path === '/api/machineactions') {
    const filter = call.query.$filter ?? '';
    if (/\bid in\b/.test(filter)) return 'GET machineactions?id in (…) (poll)';
    if (/creationDateTimeUtc/.test(filter)) return 'GET machineactions?machineId,since (recover)';
    if (/machineId/.test(filter)) return 'GET machineactions?machineId (recover)';
    if (/status eq/.test(filter)) return 'GET machineactions?status (busy check, shared by all requests)';
    return 'GET machineactions (other)';
  }
  if (/^\/api\/machineactions\/[^/]+$/.test(path)) return 'GET machineactions/{id}';
  return `${call.method} ${path}`;
}

function countByEndpoint(calls: CallRecord[], completed: number): Record<string, EndpointCount> {
  const out: Record<string, EndpointCount> = {};
  for (const call of calls) {
    const name = endpointOf(call);
    const entry = out[name] ?? { calls: 0, throttled: 0, errors: 0, perRequest: 0 };
    out[name] = entry;
    entry.calls++;
    if (call.status === 429) entry.throttled++;
    else if (call.status === null || call.status >= 400) entry.errors++;
  }
  for (const entry of Object.values(out)) entry.perRequest = round2(entry.calls / Math.max(1, completed));
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1].calls - a[1].calls));
}

/** How many events a sliding-window limit of `max` per `windowMs` would have refused (counting accepted ones only). */
function overLimit(times: number[], max: number, windowMs: number): number {
  const accepted: number[] = [];
  let refused = 0;
  for (const t of [...times].sort((a, b) => a - b)) {
    while (accepted.length && accepted[0]! <= t - windowMs) accepted.shift();
    if (accepted.length >= max) refused++;
    else accepted.push(t);
  }
  return refused;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const defined = (values: (number | undefined)[]): number[] =>
  values.filter((v): v is number => v !== undefined && Number.isFinite(v));

function botWarnings(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: string; job?: string };
      if ((entry.level ?? 0) < 40) continue;
      const key = `${entry.msg ?? '?'}${entry.job ? ` [${entry.job}]` : ''}${entry.err ? `: ${String(entry.err).slice(0, 80)}` : ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // Not a log line (a stack trace): ignored.
    }
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** Answers grouped by wording, numbers masked (`try again in 956ms` and `in 1s` count together). */
function countWordings(replies: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reply of replies) {
    const key = reply.replace(/\d+(ms|s|m|h)?/g, 'N').slice(0, 160);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function turnProfile(run: BotRun) {
  const resolve: number[] = [];
  const card: number[] = [];
  for (const request of run.requests) {
    const name = `${request.device}`;
    const resolveCall = run.defenderCalls.find(
      (c) =>
        c.realTime >= request.sentAt &&
        c.path === '/api/machines' &&
        (c.query.$filter ?? '').includes(name) &&
        c.status === 200,
    );
    if (resolveCall) resolve.push(resolveCall.realTime - request.sentAt);
    if (resolveCall && request.cardAt) card.push(request.cardAt - resolveCall.realTime);
  }
  return {
    toResolveCall: summarise(resolve),
    resolveToCard: summarise(card),
  };
}

function submissionProfile(run: BotRun, bound: Bound) {
  const submits = defined(run.requests.map((r) => r.submittedAt)).sort((a, b) => a - b);
  const firstMessage = run.startedAt;
  const first = submits[0] ?? Number.NaN;
  const lags = submits.map((t, k) => t - first - (bound.starts[k] ?? 0) / SPEED);
  const perWindow = LIMITS.run.limit;
  const lagByWindowMs: number[] = [];
  for (let k = 0; k < lags.length; k += perWindow) lagByWindowMs.push(Math.round(lags[k]!));
  const runAnswers: Record<string, number> = {};
  for (const call of run.defenderCalls)
    if (call.method === 'POST' && /runliveresponse/i.test(call.path))
      runAnswers[String(call.status)] = (runAnswers[String(call.status)] ?? 0) + 1;
  return {
    firstSubmitAfterFirstMessageMs: Math.round(first - firstMessage),
    lastSubmitLagBehindBoundMs: Math.round(lags.at(-1) ?? Number.NaN),
    runAnswers,
    lagByWindowMs,
  };
}

function lastRequestProfile(last: DrivenRequest | undefined, startedAt: number) {
  if (!last) return {};
  const at = (t: number | undefined) => (t === undefined ? undefined : Math.round(t - startedAt));
  return {
    device: last.device,
    firstAsked: at(last.firstSentAt),
    cardAsked: at(last.sentAt),
    approvalCard: at(last.cardAt),
    approved: at((last.clickAt ?? 0) + (last.clickMs ?? 0)),
    submitted: at(last.submittedAt),
    actionFinal: at(last.actionFinalAt),
    cardFinal: at(last.finalCardAt),
    cardSettled: at(last.settledAt),
  };
}

export function computeResults(input: {
  ours: BotRun;
  naive: NaiveRun;
  naiveCalls: CallRecord[];
  bound: Bound;
  /** The machine the run shared (other work on it delays every process). */
  host: { cpus: number; loadAverageBefore: number; loadAverageAfter: number };
}): Results {
  const { ours, naive, naiveCalls, bound, host } = input;
  const boundRealMs = bound.makespanMs / SPEED;
  const done = ours.requests.filter((r) => r.settledAt !== undefined && r.finalState === 'Succeeded');
  const completed = done.length;
  const lastSettled = Math.max(...defined(ours.requests.map((r) => r.settledAt)));
  const lastFinal = Math.max(...defined(ours.requests.map((r) => r.finalCardAt)));
  const makespanMs = ours.timedOut || completed < REQUESTS ? Number.NaN : lastSettled - ours.startedAt;

  const apiCalls = ours.defenderCalls.filter((c) => c.path.startsWith('/api/'));
  const byEndpoint = countByEndpoint(ours.defenderCalls, completed);
  const throttled = apiCalls.filter((c) => c.status === 429).length;

  const teamsThreadOps = ours.teams.requestLog.filter((e) =>
    ['sendToConversation', 'replyToActivity', 'updateActivity', 'deleteActivity'].includes(e.operation),
  );
  const operations: Record<string, number> = {};
  for (const entry of ours.teams.requestLog)
    operations[entry.operation] = (operations[entry.operation] ?? 0) + 1;

  const keyFamilies = Object.fromEntries(
    Object.entries(ours.redis.keyBytes)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([family, v]) => [family, { ...v, bytesPerRequest: Math.round(v.bytes / REQUESTS) }]),
  );
  const keyBytesTotal = Object.values(ours.redis.keyBytes).reduce((a, v) => a + v.bytes, 0);

  const naiveDone = naive.requests.filter((r) => r.doneAt !== undefined);
  const naiveApi = naiveCalls.filter((c) => c.path.startsWith('/api/'));
  const naiveMakespan =
    naiveDone.length === naive.requests.length
      ? Math.max(...naiveDone.map((r) => r.doneAt!)) - naive.startedAt
      : Number.NaN;
  const naiveThrottled = naiveApi.filter((c) => c.status === 429).length;
  const naivePerRequest = round2(naiveApi.length / Math.max(1, naiveDone.length));
  const oursPerRequest = round2(apiCalls.length / Math.max(1, completed));

  const latency = {
    firstAskToApprovalCard: summarise(
      defined(ours.requests.map((r) => (r.cardAt ?? Number.NaN) - r.firstSentAt)),
    ),
    messageToApprovalCard: summarise(defined(ours.requests.map((r) => (r.cardAt ?? Number.NaN) - r.sentAt))),
    clickToInvokeResponse: summarise(defined(ours.requests.map((r) => r.clickMs))),
    invokeServerSide: summarise(ours.serverMs.invokes),
    messageTurnServerSide: summarise(ours.serverMs.messages),
    completionToCardFinal: summarise(
      defined(ours.requests.map((r) => (r.finalCardAt ?? Number.NaN) - (r.actionFinalAt ?? Number.NaN))),
    ),
    completionToCardSettled: summarise(
      defined(ours.requests.map((r) => (r.settledAt ?? Number.NaN) - (r.actionFinalAt ?? Number.NaN))),
    ),
    pacedMessageToApprovalCard: summarise(
      defined(ours.paced.requests.map((r) => (r.cardAt ?? Number.NaN) - r.sentAt)),
    ),
    pacedClickToInvokeResponse: summarise(defined(ours.paced.requests.map((r) => r.clickMs))),
    pacedMessageTurnServerSide: summarise(ours.paced.serverMs.messages),
    pacedInvokeServerSide: summarise(ours.paced.serverMs.invokes),
  };
  // Teams lets a bot make 50 requests a second per tenant: the last of N cards posted at once cannot arrive sooner.
  const teamsFloorMs = Math.round(((REQUESTS - 1) / TEAMS_APP_PER_SECOND) * 1_000);
  const teams429 = ours.teams.throttles.length;
  const makespanRatio = round2(makespanMs / boundRealMs);

  const targets: TargetResult[] = [
    {
      key: 'makespan',
      name: 'Makespan vs lower bound',
      target: `≤ ${TARGETS.makespanRatio}×`,
      value: `${makespanRatio}× (${Math.round(makespanMs)} ms vs ${Math.round(boundRealMs)} ms)`,
      met: makespanRatio <= TARGETS.makespanRatio,
    },
    {
      key: 'calls',
      name: 'Defender API calls per request (100 in flight)',
      target: `≤ ${TARGETS.defenderCallsPerRequest}`,
      value: String(oursPerRequest),
      met: oursPerRequest <= TARGETS.defenderCallsPerRequest,
    },
    {
      key: 'teams',
      name: 'Teams 429s',
      target: '0',
      value: String(teams429),
      met: teams429 === TARGETS.teams429s,
    },
    {
      key: 'approvalCard',
      name: `Message → approval card p99, requests arriving at ${PACED_PER_SECOND}/s`,
      target: `≤ ${TARGETS.approvalCardP99Ms} ms`,
      value: `${latency.pacedMessageToApprovalCard.p99} ms`,
      met: latency.pacedMessageToApprovalCard.p99 <= TARGETS.approvalCardP99Ms,
    },
    {
      key: 'approvalCardBurst',
      name: `Message → approval card p99, ${REQUESTS} at once (from the first ask)`,
      target: `≤ ${TARGETS.approvalCardP99Ms} ms (Teams' ${TEAMS_APP_PER_SECOND}/s per app puts the last card ≥ ${teamsFloorMs} ms)`,
      value: `${latency.firstAskToApprovalCard.p99} ms (card turn alone ${latency.messageToApprovalCard.p99} ms)`,
      met: latency.firstAskToApprovalCard.p99 <= TARGETS.approvalCardP99Ms,
    },
    {
      key: 'invoke',
      name: `Click → invoke response p99, requests arriving at ${PACED_PER_SECOND}/s`,
      target: `≤ ${TARGETS.invokeP99Ms} ms`,
      value: `${latency.pacedClickToInvokeResponse.p99} ms`,
      met: latency.pacedClickToInvokeResponse.p99 <= TARGETS.invokeP99Ms,
    },
    {
      key: 'invokeBurst',
      name: `Click → invoke response p99, during the burst of ${REQUESTS}`,
      target: `≤ ${TARGETS.invokeP99Ms} ms`,
      value: `${latency.clickToInvokeResponse.p99} ms`,
      met: latency.clickToInvokeResponse.p99 <= TARGETS.invokeP99Ms,
    },
    {
      key: 'completion',
      name: 'Completion → card final p95',
      target: `≤ ${TARGETS.completionToCardP95Ms} ms (poll ${POLL_INTERVAL_MS} ms + 1 s)`,
      value: `${latency.completionToCardFinal.p95} ms (with the 1 s compressed too, ≤ ${TARGETS.completionToCardScaledP95Ms} ms: ${latency.completionToCardFinal.p95 <= TARGETS.completionToCardScaledP95Ms ? 'met' : 'missed'})`,
      met: latency.completionToCardFinal.p95 <= TARGETS.completionToCardP95Ms,
    },
  ];

  const lastRequest = [...ours.requests].sort((a, b) => (b.settledAt ?? 0) - (a.settledAt ?? 0))[0];

  return {
    generatedAt: new Date().toISOString(),
    scenario: {
      requests: REQUESTS,
      pacedRequests: PACED_REQUESTS,
      pacedPerSecond: PACED_PER_SECOND,
      speed: SPEED,
      actionSimMs: ACTION_MS,
      defenderLimits: LIMITS,
      botEnv: Object.fromEntries(
        Object.entries(ours.env).filter(([k]) =>
          /^(DEFENDER_(RUN|API)_RATE|DEFENDER_MAX_SESSIONS|POLL_INTERVAL)$/.test(k),
        ),
      ),
      teamsThreadLimits: '7/1s, 8/2s, 60/30s, 1800/1h per thread (real time, not compressed)',
      host,
    },
    bound: {
      formula: FORMULA,
      simMs: bound.makespanMs,
      realMs: boundRealMs,
      binding: bound.binding,
      rateBoundSimMs: bound.rateBoundMs,
      sessionBoundSimMs: bound.sessionBoundMs,
    },
    ours: {
      completed,
      refused: ours.requests
        .filter((r) => r.reply)
        .map((r) => ({ index: r.index, reply: r.reply!.slice(0, 300) })),
      refusedAtFirst: ours.requests.filter((r) => r.refusals.length > 0).length,
      refusals: countWordings(ours.requests.flatMap((r) => r.refusals)),
      timedOut: ours.timedOut,
      makespanMs: Math.round(makespanMs),
      makespanRatio,
      makespanToFinalStateMs: Math.round(lastFinal - ours.startedAt),
      defender: {
        apiCalls: apiCalls.length,
        apiCallsPerRequest: oursPerRequest,
        throttled,
        byEndpoint,
        blobDownloads: ours.defenderCalls.length - apiCalls.length,
      },
      latencyMs: latency,
      pacedRefused: ours.paced.requests.filter((r) => r.reply).map((r) => r.reply!.slice(0, 300)),
      pacedDefenderCalls: ours.paced.defenderCalls,
      teams: {
        highestOpsPerThreadPerSecond: Math.max(0, ...ours.teams.rateStats.map((s) => s.peakPerSecond)),
        highestAcceptedOpsPerThreadPerSecond: Math.max(
          0,
          ...ours.teams.rateStats.map((s) => s.peakAcceptedPerSecond),
        ),
        tenantPeakOpsPerSecond: peakInWindow(
          teamsThreadOps.map((e) => e.at),
          1_000,
        ),
        overTenantLimit: overLimit(
          teamsThreadOps.map((e) => e.at),
          TEAMS_APP_PER_SECOND,
          1_000,
        ),
        throttled: teams429,
        operations,
        cardUpdatesPerRequest: round2(
          defined(ours.requests.map((r) => (r.cardVersions ?? 1) - 1)).reduce((a, b) => a + b, 0) / REQUESTS,
        ),
        largestActivityBytes: Math.max(0, ...ours.teams.rateStats.map((s) => s.largestActivityBytes)),
        refusedTooLarge: ours.teams.requestLog.filter((e) => e.outcome === 413).length,
      },
      redis: {
        bytesPerRequestInfo: Math.round(
          (ours.redis.usedMemoryAfter - ours.redis.usedMemoryBefore) / REQUESTS,
        ),
        bytesPerRequestKeys: Math.round(keyBytesTotal / REQUESTS),
        byFamily: keyFamilies,
      },
      process: {
        rssIdleMB: mb(ours.memory.rssIdleBytes),
        rssPeakMB: mb(ours.memory.rssPeakBytes),
        rssEndMB: mb(ours.memory.rssEndBytes),
        heapUsedEndMB: mb(ours.memory.heapUsedEndBytes),
      },
      loopDelayMs: Object.fromEntries(
        Object.entries(ours.loopDelayMs).map(([k, v]) => [
          k,
          { p50: Math.round(v.p50), p99: Math.round(v.p99), max: Math.round(v.max) },
        ]),
      ) as BotRun['loopDelayMs'],
    },
    naive: {
      completed: naiveDone.length,
      failed: naive.requests.length - naiveDone.length,
      makespanMs: Math.round(naiveMakespan),
      makespanRatio: round2(naiveMakespan / boundRealMs),
      apiCalls: naiveApi.length,
      apiCallsPerRequest: naivePerRequest,
      throttled: naiveThrottled,
      byEndpoint: countByEndpoint(naiveCalls, naiveDone.length),
    },
    comparison: {
      makespan: round2(naiveMakespan / makespanMs),
      callsPerRequest: round2(naivePerRequest / oursPerRequest),
      throttled: throttled === 0 ? null : round2(naiveThrottled / throttled),
    },
    targets,
    profile: {
      turn: turnProfile(ours),
      lifecycle: {
        approveToSubmit: summarise(
          defined(ours.requests.map((r) => (r.submittedAt ?? Number.NaN) - (r.clickAt ?? Number.NaN))),
        ),
        submitToActionFinal: summarise(
          defined(ours.requests.map((r) => (r.actionFinalAt ?? Number.NaN) - (r.submittedAt ?? Number.NaN))),
        ),
        actionFinalToCardFinal: latency.completionToCardFinal,
        cardFinalToSettled: summarise(
          defined(ours.requests.map((r) => (r.settledAt ?? Number.NaN) - (r.finalCardAt ?? Number.NaN))),
        ),
      },
      submissions: submissionProfile(ours, bound),
      lastRequest: lastRequestProfile(lastRequest, ours.startedAt),
      botWarnings: botWarnings(ours.botLog),
      queueNotices: countWordings(ours.requests.flatMap((r) => [...new Set(r.queueNotices ?? [])])),
    },
    curves: {
      boundMs: bound.ends.map((t) => Math.round(t / SPEED)),
      oursMs: defined(ours.requests.map((r) => r.settledAt))
        .map((t) => t - ours.startedAt)
        .sort((a, b) => a - b),
      naiveMs: naiveDone.map((r) => r.doneAt! - naive.startedAt).sort((a, b) => a - b),
    },
  };
}
