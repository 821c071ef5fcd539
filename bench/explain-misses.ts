// Says why each missed target was missed, with the run's own figures: where the time went and which calls it took.

import { ARRIVAL_SKEW_MARGIN } from '../defender/defender-budget.js';
import type { CallRecord } from '../simulator/defender-simulator.js';
import type { Results } from './compute-results.js';
import type { BotRun, DrivenRequest } from './drive-bot.js';
import { LIMITS, POLL_INTERVAL_MS, REQUESTS, SPEED } from './scenario.js';
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
    `${LIMITS.run.limit}: ${submissions.lagByWindowMs.join(', ')} ms — the budget's ${ARRIVAL_SKEW_MARGIN * 100}% skew margin is ` +
    `${ms((LIMITS.run.windowMs * ARRIVAL_SKEW_MARGIN) / SPEED)} per window, the rest is job wake-up and ${runThrottled} runliveresponse 429s, ` +
    `each holding submissions off for at least 1 s real = ${SPEED} s of Defender time because the limiter's back-off ` +
    'floor is real time); the last card showed every result ' +
    `${ms(tail)} after its action ended.`;

  // Calls per request: the floor of the design.
  const floor = 1 + 1 + 2;
  causes.calls =
    `Every request costs resolve device ${perRequest('GET machines?$filter (resolve device)')} + busy check ` +
    `${perRequest('GET machineactions?status (busy check, shared by all requests)')} + runliveresponse ${perRequest('POST runliveresponse')} + ` +
    `result links ${perRequest('GET …/GetLiveResponseResultDownloadLink')} (transcript and file), i.e. at least ${floor} ` +
    `by design, plus polling ${perRequest('GET machineactions?id in (…) (poll)')} (one list call per ${POLL_INTERVAL_MS} ms ` +
    'tick, shared by all actions in flight); the busy check is one tenant-wide list shared by the burst. Minting the ' +
    'GetFile link only when someone downloads it would bring it near 4.';

  // Approval card: the pre-flight's share of the API budget.
  const preflight =
    (per['GET machines?$filter (resolve device)']?.calls ?? 0) +
    (per['GET machineactions?status (busy check, shared by all requests)']?.calls ?? 0) +
    (per['GET libraryfiles']?.calls ?? 0);
  const apiWindow = LIMITS.api[0]!;
  const turn = results.profile.turn;
  causes.approvalCard =
    `The pre-flight makes 1 budgeted Defender call per request (resolve device; the busy check list is shared): ${preflight} calls for ` +
    `${REQUESTS} requests against ${apiWindow.limit} per Defender minute (${ms(apiWindow.windowMs / SPEED)} here), shared ` +
    `with polling and result links, so the second half of the burst waits for the next window: first Defender call ` +
    `${ms(turn.toResolveCall.p50)} p50 / ${ms(turn.toResolveCall.p99)} p99 after the message. ${results.ours.refusedAtFirst} requests were told to try again (the turn waits ` +
    'at most 3 s of real time for budget). The bot also had 100 turns to run at once on a shared 2-CPU host: event ' +
    `loop delay up to ${ms(results.ours.loopDelayMs.bot.max)}. In production the turn's 3 s is 1/20 of a Defender ` +
    'minute, not a whole one, so a burst beyond ~50 requests would mostly be told to try again.';

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
    `Without the budget-starved ones, completion → card p95 is ${ms(steadySummary.p95)}. The scaled target leaves ` +
    `${ms(1_000 / SPEED)} for all that processing, which does not get ${SPEED}× faster with the clock; unscaled (5 s + 1 s) ` +
    'the processing fits many times over.';
  return { causes, figures: { completion, clicks } };
}
