// Says why each missed target was missed, with the run's own figures: where the time went and which calls it took.

import { TEAMS_APP_RATES } from '../core/teams-limits.js';
import { ARRIVAL_SKEW_FLOOR_MS, ARRIVAL_SKEW_MARGIN } from '../defender/defender-budget.js';
import type { CallRecord } from '../simulator/defender-simulator.js';
import type { Results } from './compute-results.js';
import type { BotRun, DrivenRequest } from './drive-bot.js';
import {
  LIMITS,
  PACED_PER_SECOND,
  POLL_INTERVAL_MS,
  REQUESTS,
  SPEED,
  TEAMS_APP_PER_SECOND,
} from './scenario.js';
import { summarise } from './stats.js';

const ms = (n: number) => `${Math.round(n)} ms`;

/** The first poll after the action ended that listed it: when the bot could first know. */
function observingPoll(calls: CallRecord[], request: DrivenRequest): CallRecord | undefined {
  if (request.actionFinalAt === undefined || !request.actionId) return undefined;
  return calls.find(
    (c) =>
      c.realTime >= request.actionFinalAt! &&
      c.status === 200 &&
      c.path === '/api/machineactions' &&
      (c.query.$filter ?? '').includes(request.actionId!),
  );
}

export interface Explanations {
  causes: Record<string, string>;
  figures: {
    completion: {
      pollWait: ReturnType<typeof summarise>;
      afterPoll: ReturnType<typeof summarise>;
      starved: number;
    };
    clicks: { duringTurns: ReturnType<typeof summarise>; afterTurns: ReturnType<typeof summarise> };
  };
}

export function explainMisses(results: Results, run: BotRun): Explanations {
  const causes: Record<string, string> = {};
  const calls = run.defenderCalls;
  const requests = run.requests;
  const per = results.ours.defender.byEndpoint;
  const perRequest = (name: string) => per[name]?.perRequest ?? 0;

  // Makespan: what came on top of the bound.
  const submissions = results.profile.submissions;
  const last = results.profile.lastRequest;
  const runThrottled = per['POST runliveresponse']?.throttled ?? 0;
  const tail =
    typeof last.cardSettled === 'number' && typeof last.actionFinal === 'number'
      ? last.cardSettled - last.actionFinal
      : Number.NaN;
  causes.makespan =
    `${ms(results.ours.makespanMs - results.bound.realMs)} over the bound: the first runliveresponse was accepted ` +
    `${ms(submissions.firstSubmitAfterFirstMessageMs)} after the first message (turn, card, click, job); ` +
    `the last one ran ${ms(submissions.lastSubmitLagBehindBoundMs)} behind the ideal schedule (per group of ` +
    `${LIMITS.run.limit}: ${submissions.lagByWindowMs.join(', ')} ms — the budget's skew margin (${ARRIVAL_SKEW_MARGIN * 100}%, at least ${ARRIVAL_SKEW_FLOOR_MS} ms) is ` +
    `${ms(Math.max((LIMITS.run.windowMs * ARRIVAL_SKEW_MARGIN) / SPEED, ARRIVAL_SKEW_FLOOR_MS))} per window, the rest is job wake-up and ${runThrottled} runliveresponse 429s, ` +
    `each holding submissions off for at least 1 s real = ${SPEED} s of Defender time because the limiter's back-off ` +
    'floor is real time); the last card showed every result ' +
    `${ms(tail)} after its action ended.`;

  // Calls per request: what each request costs, and what a download adds.
  const resolveCalls = per['GET machines?$filter (resolve device)']?.calls ?? 0;
  const withDownloads = Math.round((results.ours.defender.apiCallsPerRequest + 1) * 100) / 100;
  causes.calls =
    `Every request costs resolve device ${perRequest('GET machines?$filter (resolve device)')} (look-ups typed during ` +
    `the same moments share one call: ${resolveCalls} calls for ${REQUESTS} devices) + busy check ` +
    `${perRequest('GET machineactions?status (busy check, shared by all requests)')} + runliveresponse ${perRequest('POST runliveresponse')} + ` +
    `transcript link ${perRequest('GET …/GetLiveResponseResultDownloadLink')} (the bot reads the transcript for the card) + ` +
    `polling ${perRequest('GET machineactions?id in (…) (poll)')} (one list call per ${POLL_INTERVAL_MS} ms tick, shared by ` +
    "all actions in flight). A collected file's link is minted from Defender only when someone opens it: one call per " +
    `opened link, so ${withDownloads} per request if every file were downloaded once.`;

  // Approval card in the burst: Teams' limit per app, then the bot's CPU.
  const turn = results.profile.turn;
  const paced = results.ours.latencyMs;
  const floorAt = (perSecond: number) => ms(((REQUESTS - 1) / perSecond) * 1_000);
  causes.approvalCardBurst =
    `Teams takes at most ${TEAMS_APP_PER_SECOND} requests a second from one bot in a tenant, so ${REQUESTS} cards asked ` +
    `for at once cannot all be posted in less than ${floorAt(TEAMS_APP_PER_SECOND)}; the bot keeps its own replies and ` +
    `card updates at ${TEAMS_APP_RATES[0]!.count}/s (headroom below Teams' limit, as its documentation asks), which puts the ` +
    `last card at ${floorAt(TEAMS_APP_RATES[0]!.count)} or later. Defender was not the wait: device look-ups went out ` +
    `${ms(turn.toResolveCall.p50)} p50 / ${ms(turn.toResolveCall.p99)} p99 after the message (${resolveCalls} batched calls). ` +
    `${results.ours.refusedAtFirst} requests were told to try again. Requests arriving one at a time at ` +
    `${PACED_PER_SECOND}/s got their card in p50 ${ms(paced.pacedMessageToApprovalCard.p50)}, p99 ` +
    `${ms(paced.pacedMessageToApprovalCard.p99)}.`;
  causes.approvalCard =
    `The bot's own turn took p50 ${ms(paced.pacedMessageTurnServerSide.p50)}, p99 ${ms(paced.pacedMessageTurnServerSide.p99)} ` +
    `(server side: parse, device look-up in Defender, library and busy check, Redis, render, post to Teams) on a 2-CPU ` +
    'host shared with the simulator and the measuring client.';

  // Click → invoke: no Defender call in the click; CPU.
  const lastTurn = Math.max(...requests.map((r) => r.cardAt ?? 0));
  const during = requests.filter(
    (r) => r.clickAt !== undefined && r.clickAt <= lastTurn && r.clickMs !== undefined,
  );
  const after = requests.filter(
    (r) => r.clickAt !== undefined && r.clickAt > lastTurn && r.clickMs !== undefined,
  );
  const clicks = {
    duringTurns: summarise(during.map((r) => r.clickMs!)),
    afterTurns: summarise(after.map((r) => r.clickMs!)),
  };
  const server = results.ours.latencyMs.invokeServerSide;
  const client = results.ours.latencyMs.clickToInvokeResponse;
  causes.invoke =
    `The bot handled each Reject in p50 ${ms(paced.pacedInvokeServerSide.p50)}, p99 ${ms(paced.pacedInvokeServerSide.p99)} ` +
    '(server side: Redis transition, audit, card job; no Defender or Teams call in the click).';
  causes.invokeBurst =
    'A click makes no Defender or Teams call (Redis and BullMQ only). The bot itself took p50 ' +
    `${ms(server.p50)}, p99 ${ms(server.p99)} per invoke (server side); the client saw p50 ${ms(client.p50)}, p99 ` +
    `${ms(client.p99)}: the rest is connecting to and scheduling the bot's process while it ran the burst's turns ` +
    `(clicks during other requests' turns: p99 ${ms(clicks.duringTurns.p99)} of ${clicks.duringTurns.count}; after the ` +
    `last card: p99 ${ms(clicks.afterTurns.p99)} of ${clicks.afterTurns.count}), on a 2-CPU host shared by the bot, the ` +
    `simulator, the measuring client and other work (bot event loop delay p99 ${ms(results.ours.loopDelayMs.bot.p99)}, ` +
    `max ${ms(results.ours.loopDelayMs.bot.max)}).`;

  // Completion → card: waiting for a poll (budget) vs after it.
  const pollWait: number[] = [];
  const afterPoll: number[] = [];
  let starved = 0;
  const steady: number[] = [];
  for (const request of requests) {
    const poll = observingPoll(calls, request);
    if (!poll || request.finalCardAt === undefined) continue;
    const wait = poll.realTime - request.actionFinalAt!;
    pollWait.push(wait);
    afterPoll.push(request.finalCardAt - poll.realTime);
    if (wait > POLL_INTERVAL_MS + 100) starved++;
    else steady.push(request.finalCardAt - request.actionFinalAt!);
  }
  const completion = { pollWait: summarise(pollWait), afterPoll: summarise(afterPoll), starved };
  const steadySummary = summarise(steady);
  causes.completion =
    `From the action's end to the poll that saw it: p50 ${ms(completion.pollWait.p50)}, p95 ${ms(completion.pollWait.p95)} ` +
    `(the poll runs every ${ms(POLL_INTERVAL_MS)}); ${starved} polls waited longer than ${ms(POLL_INTERVAL_MS + 100)} — ` +
    'for API budget while the pre-flight burst and result links used it. From that poll to the card in Teams: p50 ' +
    `${ms(completion.afterPoll.p50)}, p95 ${ms(completion.afterPoll.p95)} (Redis transition, card job, render, PUT). ` +
    `Without the budget-starved ones, completion → card p95 is ${ms(steadySummary.p95)}.`;
  return { causes, figures: { completion, clicks } };
}
