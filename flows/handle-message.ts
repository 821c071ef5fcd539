// A message to the bot: parse it, then answer help/scripts/status/cancel, or pre-flight a request and post its card.
import type { Logger } from 'pino';
import { createCardClock } from '../cards/card-time.js';
import { renderFanOutCard } from '../cards/fan-out-card.js';
import { commandStatusLabel, renderRequestCard, stateLabel } from '../cards/request-card.js';
import type { ApprovalPolicy } from '../core/approval-policy.js';
import { isTenantAllowed, sameConversation, samePerson } from '../core/approval-policy.js';
import type { Clock } from '../core/clock.js';
import { describeCommand } from '../core/commands.js';
import { formatDuration } from '../core/durations.js';
import { DEFAULT_FANOUT_MAX_DEVICES, describeTargets } from '../core/fan-out.js';
import { formatInvalid, helpText } from '../core/help-text.js';
import { teamsMarkdown } from '../core/help-text-markdown.js';
import { addLogContext } from '../core/log-context.js';
import { newRequest } from '../core/new-request.js';
import { describeOnCall } from '../core/on-call.js';
import { type ParsedMessage, parseMessage } from '../core/parse-message.js';
import type { LiveResponseRequest, Person } from '../core/request.js';
import { newRequestId } from '../core/request-id.js';
import type { RequestStore } from '../core/request-store.js';
import { actorOf } from '../core/request-store.js';
import { inlineCode } from '../core/validate-command.js';
import { BudgetExhaustedError } from '../defender/defender-budget.js';
import { type DefenderApi, TOKEN_FAILED } from '../defender/defender-client.js';
import { DefenderApiError } from '../defender/defender-errors.js';
import type { DeviceFinder } from '../defender/device-finder.js';
import type { LibraryFile, MachineAction } from '../defender/types.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
import { applyAndDispatch, type EffectPorts } from '../jobs/dispatch-effects.js';
import type { JobScheduler } from '../jobs/job-scheduler.js';
import type { QueuePlaceOf } from '../jobs/queue-place.js';
import { cancelRequest } from './cancel-request.js';
import type { ChatTurn } from './chat-turn.js';
import { checkFanOutSize, createFanOutRequest, fanOutStatusText } from './fan-out-request.js';
import { lookupIdsOf, namedTier, onCallForRequest } from './on-call-now.js';
import { checkLibrary, checkNotBusy, deviceFacts, resolveDevice } from './preflight.js';
import { auditText } from './show-audit.js';

/** Who cancels a request whose approval card Teams refused. */
const CARD_NOT_POSTED: Person = { teamsId: '', name: 'LR Bot (the approval card could not be posted)' };

export interface FlowDeps {
  requests: RequestStore;
  /** Budgeted Defender client for use inside a Teams turn (short waits only). */
  defender: DefenderApi;
  /** Device lookups, batched across the turns running at the same time. */
  findDevice: DeviceFinder;
  /** The live response library (cached). */
  library: () => Promise<LibraryFile[]>;
  /** Live response actions Pending or InProgress in the tenant (shared, at most a second old). */
  activeActions: () => Promise<MachineAction[]>;
  scheduler: JobScheduler;
  policy: ApprovalPolicy;
  /** Who is on call (APPROVERS' group:, tag:, shifts: entries, through Microsoft Graph); absent = the policy's people. */
  onCall?: OnCallDirectory;
  /** ESCALATE_AFTER: an undecided card asks the next tier after this long; absent = no escalation. */
  escalateAfterMs?: number;
  clock: Clock;
  logger: Logger;
  approvalTimeoutMs: number;
  /** FANOUT_MAX_DEVICES: the most devices one request may name or one tag may hold (default 20). */
  fanOutMaxDevices?: number;
  publicBaseUrl: string;
  /** DOWNLOAD_MODE=sso: download buttons open the tab at the request (see RequestCardOptions). */
  tabDeepLink?: (requestId: string) => string;
  /** Test-only hook between a write and its effects (see EffectPorts). */
  beforeEffects?: EffectPorts['beforeEffects'];
  /** Test-only: called once Teams took the approval card, before its activity id is recorded (the crash tests). */
  afterCardSent?: () => void;
  /** A waiting request's place in line and estimated start, for the cards a click answers with. */
  queuePlace?: QueuePlaceOf;
  /** FOLLOWUP_PREAPPROVAL=on: how long a pre-approval of a request's follow-ups lasts; absent = off. */
  followUpPreApprovalMs?: number;
}

export async function handleMessage(turn: ChatTurn, text: string, deps: FlowDeps): Promise<void> {
  if (!isTenantAllowed(turn.tenantId, deps.policy)) {
    await turn.reply('This bot is not enabled for your organisation.');
    return;
  }
  const parsed = parseMessage(text);
  // Every reply goes through one formatter, so Teams shows what the text says (see teamsMarkdown).
  const out: ChatTurn = { ...turn, reply: (markdown) => turn.reply(teamsMarkdown(markdown)) };
  try {
    await route(out, parsed, deps);
  } catch (error) {
    await out.reply(explainFailure(error));
    if (!(error instanceof DefenderApiError) && !(error instanceof BudgetExhaustedError)) throw error;
  }
}

/** Known failures in words a responder can act on; nothing reached the device in any of them. */
export function explainFailure(error: unknown): string {
  if (error instanceof BudgetExhaustedError)
    return `Defender's API rate limit is used up right now; try again in ${formatDuration(error.waitMs)}. Nothing was sent to the device.`;
  if (error instanceof DefenderApiError) {
    if (error.kind === 'unauthorized')
      return 'Defender refused the bot’s credentials. An admin should check the app registration’s Defender API permissions (Machine.Read.All, Machine.LiveResponse, Library.Manage) and admin consent. Nothing was sent to the device.';
    if (error.code === TOKEN_FAILED)
      return 'The bot could not sign in to Defender just now (Microsoft Entra ID did not give it a token). Nothing was sent to the device; try again in a minute.';
    return `Defender did not answer as expected (${error.code || error.status || error.kind}). Nothing was sent to the device; try again in a minute.`;
  }
  return 'Something went wrong on my side. Nothing was sent to the device; try again, and tell the bot’s operators if it keeps happening.';
}

async function route(turn: ChatTurn, parsed: ParsedMessage, deps: FlowDeps): Promise<void> {
  switch (parsed.kind) {
    case 'help':
      return turn.reply(helpText());
    case 'invalid':
      return turn.reply(formatInvalid(parsed.problem, parsed.example));
    case 'scripts':
      return turn.reply(formatLibrary(await deps.library()));
    case 'status':
      return turn.reply(await statusText(turn, parsed.requestId, deps));
    case 'cancel': {
      const outcome = await cancelRequest(turn, parsed.requestId, deps);
      return turn.reply(outcome.message);
    }
    case 'audit':
      return turn.reply(await auditText(turn, parsed.requestId, deps));
    case 'request':
      return createRequest(turn, parsed, deps);
  }
}

function formatLibrary(files: LibraryFile[]): string {
  if (files.length === 0)
    return 'The live response library is empty. Admins upload scripts in the Defender portal (Action center → Live response library).';
  const lines = files
    .slice()
    .sort((a, b) => a.fileName.localeCompare(b.fileName))
    .map((f) => {
      const params = f.hasParameters ? ` — arguments: ${f.parametersDescription || 'yes'}` : '';
      return `- \`${f.fileName}\`${f.description ? `: ${f.description}` : ''}${params}`;
    });
  return `**Live response library** (${files.length})\n${lines.join('\n')}\n\nRun one with e.g. \`run ${files[0]!.fileName} on <device>\`.`;
}

/** One request in words, with the state names and times the card shows. */
function statusLine(request: LiveResponseRequest): string {
  const commands = request.commands
    .map((c, i) => `${describeCommand(c)} (${commandStatusLabel(request, i)})`)
    .join(', ');
  return `**${request.id}** — ${stateLabel(request)} on \`${request.device.computerDnsName}\` — ${commands} — asked by ${request.requester.name}`;
}

async function statusText(turn: ChatTurn, requestId: string | undefined, deps: FlowDeps): Promise<string> {
  if (requestId) {
    const request = await deps.requests.get(requestId);
    // Requests are shown only where they were made: device names and evidence stay in their incident channel.
    if (!request || !sameConversation(request, turn.tenantId, turn.conversationId))
      return `There is no request ${requestId} here. Type \`status\` to list the recent requests here.`;
    // A fan-out lists every device (its card may show only some of them).
    if (request.fanOut) return fanOutStatusText(request, deps);
    const clock = createCardClock(new Date(deps.clock.now()));
    const decision = request.decision
      ? `\n\n${request.decision.kind === 'approved' ? 'Approved' : 'Rejected'} by ${request.decision.by.name} at ${clock.format(request.decision.at)}`
      : '';
    const failure = request.failure ? `\n\n${request.failure.code}: ${request.failure.message}` : '';
    return `${statusLine(request)}${decision}${failure}`;
  }
  const recent = await deps.requests.listByConversation(turn.conversationId, 5);
  if (recent.length === 0)
    return 'No live response requests here yet. Type `help` to see how to ask for one.';
  return `**Recent requests here**\n${recent.map((r) => `- ${statusLine(r)}`).join('\n')}`;
}

async function resolveApprovers(turn: ChatTurn, ids: readonly string[]): Promise<Person[]> {
  const found = await Promise.all(ids.map((id) => turn.lookupMember(id).catch(() => null)));
  const unique = new Map<string, Person>();
  for (const person of found) if (person?.teamsId) unique.set(person.teamsId, person);
  return [...unique.values()];
}

/** Why no card was posted where no approver (other than the requester) is a member, and where to ask instead. */
function noApproverHere(turn: ChatTurn, parsed: Extract<ParsedMessage, { kind: 'request' }>): string {
  const place =
    turn.conversationKind === 'personal'
      ? 'chat'
      : turn.conversationKind === 'groupChat'
        ? 'group chat'
        : 'channel';
  const ask = `${parsed.commands.map(describeCommand).join(' then ')} on ${parsed.device}${parsed.reason ? ` because ${parsed.reason}` : ''}`;
  return `Nothing was requested: no on-call approver who may decide on it is a member of this ${place}, so nobody here could approve it. Ask in your incident channel or a group chat with an approver, mentioning the bot: ${inlineCode(ask)}`;
}

async function createRequest(
  turn: ChatTurn,
  parsed: Extract<ParsedMessage, { kind: 'request' }>,
  deps: FlowDeps,
): Promise<void> {
  const { defender } = deps;
  // Over FANOUT_MAX_DEVICES is refused before anything is asked of anyone (a tag's size is known after its look-up).
  if (parsed.fanOut) {
    const size = checkFanOutSize(parsed.fanOut, deps.fanOutMaxDevices ?? DEFAULT_FANOUT_MAX_DEVICES);
    if (!size.ok) return turn.reply(size.message);
  }
  // A card nobody here can approve would sit for the whole approval timeout: say so before asking anything.
  // Who is on call now (Graph for group/tag/shifts entries); nobody on call is a refusal before any card.
  const onCall = await onCallForRequest(turn, deps.onCall, deps.policy.approvers);
  if (!onCall.ok) return turn.reply(onCall.message);
  const approvers = await resolveApprovers(turn, lookupIdsOf(onCall.tiers, deps.policy.approvers));
  if (!approvers.some((person) => deps.policy.allowSelfApproval || !samePerson(person, turn.from)))
    return turn.reply(noApproverHere(turn, parsed));
  if (parsed.fanOut) return createFanOutRequest(turn, parsed, parsed.fanOut, deps, { onCall, approvers });
  const device = await resolveDevice(deps.findDevice, defender, parsed.device);
  if (!device.ok) return turn.reply(device.message);
  const library = checkLibrary(parsed.commands, await deps.library(), device.value.machine);
  if (!library.ok) return turn.reply(library.message);
  const busy = checkNotBusy(await deps.activeActions(), device.value.machine);
  if (!busy.ok) return turn.reply(busy.message);

  const now = deps.clock.now();
  await postNewRequest(turn, deps, (id) =>
    newRequest({
      id,
      tenantId: turn.tenantId,
      conversationId: turn.conversationId,
      conversationRef: turn.conversationRef,
      requester: turn.from,
      device: deviceFacts(device.value),
      commands: library.value,
      ...(parsed.reason ? { reason: parsed.reason } : {}),
      approvers,
      ...(onCall.tiers[0] ? { onCall: namedTier(onCall.tiers[0], approvers) } : {}),
      now,
      approvalTimeoutMs: deps.approvalTimeoutMs,
    }),
  );
}

/**
 * Stores a new request under a fresh id (`build` makes it for an id), posts its approval card and records the card:
 * the same for a single request and a fan-out.
 */
export async function postNewRequest(
  turn: ChatTurn,
  deps: FlowDeps,
  build: (id: string) => LiveResponseRequest,
): Promise<void> {
  let request: LiveResponseRequest | null = null;
  for (let attempt = 0; attempt < 5 && !request; attempt++) {
    const candidate = build(newRequestId());
    // The on-call snapshot goes into the audit trail with the request.
    const onCallText = (candidate.onCall ?? []).flatMap(describeOnCall).join('; ');
    const devices = candidate.fanOut ? describeTargets(candidate.fanOut) : candidate.device.computerDnsName;
    const detail = `${candidate.commands.map(describeCommand).join(' then ')} on ${devices}${onCallText ? ` — ${onCallText}` : ''}`;
    if (await deps.requests.create(candidate, { action: 'requested', actor: actorOf(turn.from), detail }))
      request = candidate;
  }
  if (!request) throw new Error('could not allocate a request id');
  addLogContext({ requestId: request.id });

  const now = deps.clock.now();
  const cardOptions = { viewer: 'everyone' as const, now: new Date(now), publicBaseUrl: deps.publicBaseUrl };
  const card = request.fanOut
    ? renderFanOutCard(request, new Map(), cardOptions)
    : renderRequestCard(request, cardOptions);
  let activityId: string;
  try {
    activityId = await turn.sendCard(card);
    deps.afterCardSent?.();
  } catch (error) {
    // Nobody can approve a card Teams never showed: close the request so it cannot be approved or run later.
    await applyAndDispatch(
      deps,
      request.id,
      { type: 'cancel', by: CARD_NOT_POSTED, at: deps.clock.nowIso() },
      { action: 'cancel', actor: actorOf(CARD_NOT_POSTED), detail: 'Teams did not accept the approval card' },
    );
    throw error;
  }
  // Its effect: the expiry job at the approval deadline.
  const posted = await applyAndDispatch(deps, request.id, { type: 'cardPosted', activityId });
  if (deps.escalateAfterMs !== undefined)
    await deps.scheduler.escalateAt(request.id, now + deps.escalateAfterMs, deps.clock.now());
  deps.logger.info(
    {
      requestId: request.id,
      machineId: request.device.machineId,
      version: posted.ok ? posted.request.version : undefined,
    },
    'approval card posted',
  );
}
