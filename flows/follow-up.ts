// One click for the follow-up: a "Collect <file>" click on a finished request's card asks for a GetFile of a file its
// output named, on the same device, as a new request that goes through the pre-flight and approval like any other
// (the clicker is its requester); and the parent's approver may pre-approve such follow-ups for a short window.
import { renderRequestCard } from '../cards/request-card.js';
import {
  type Actor,
  checkDecision,
  isApprover,
  policyForRequest,
  samePerson,
} from '../core/approval-policy.js';
import { describeCommand, type LiveResponseCommand } from '../core/commands.js';
import { formatDuration } from '../core/durations.js';
import { isOfferedFollowUp } from '../core/find-followup-paths.js';
import { newRequest } from '../core/new-request.js';
import { describeOnCall } from '../core/on-call.js';
import { isFinal, type LiveResponseRequest, type Person } from '../core/request.js';
import { newRequestId } from '../core/request-id.js';
import { actorOf } from '../core/request-store.js';
import { applyAndDispatch } from '../jobs/dispatch-effects.js';
import type { ChatTurn } from './chat-turn.js';
import type { FlowDeps } from './handle-message.js';
import { lookupIdsOf, namedTier, onCallForDecision, onCallForRequest } from './on-call-now.js';
import { checkLibrary, checkNotBusy, deviceFacts, resolveDevice } from './preflight.js';

export type FollowUpOutcome =
  | { ok: true; parent: LiveResponseRequest; followUp: LiveResponseRequest }
  | { ok: false; reason: string };

async function resolveApprovers(turn: ChatTurn, ids: readonly string[]): Promise<Person[]> {
  const found = await Promise.all(ids.map((id) => turn.lookupMember(id).catch(() => null)));
  const unique = new Map<string, Person>();
  for (const person of found) if (person?.teamsId) unique.set(person.teamsId, person);
  return [...unique.values()];
}

/**
 * A "Collect <file>" click by `person`: `path` must be one the parent's card offers (the card is never trusted), asked
 * once per file. The follow-up is pre-flighted like a typed `getfile` (the device may have gone offline or away since)
 * and posted as its own card; with a pre-approval in force it is approved at once, audited as such.
 */
export async function askFollowUp(
  turn: ChatTurn,
  parent: LiveResponseRequest,
  person: Person,
  path: unknown,
  deps: FlowDeps,
): Promise<FollowUpOutcome> {
  if (typeof path !== 'string' || !isFinal(parent.state) || !isOfferedFollowUp(parent, path))
    return {
      ok: false,
      reason: `That is not a file ${parent.id}'s card offers to collect. Only its Collect buttons ask for follow-ups; to collect another file, send \`getfile <path> from ${parent.device.computerDnsName}\`.`,
    };
  // A file is asked for once, unless its follow-up never ran (expired, rejected, cancelled): then a click (from a card
  // that still shows the button) asks again.
  const earlier = parent.followUps?.find((f) => f.path === path);
  const previous = earlier ? await deps.requests.get(earlier.requestId) : null;
  if (earlier && previous && !givesWay(previous))
    return {
      ok: false,
      reason: `${path} was already asked for as ${earlier.requestId} by ${earlier.by.name}.`,
    };

  // The same pre-flight as a typed request: who is on call, the device as Defender knows it now, the path for its OS.
  const asker: ChatTurn = { ...turn, from: person };
  const onCall = await onCallForRequest(asker, deps.onCall, deps.policy.approvers);
  if (!onCall.ok) return { ok: false, reason: onCall.message };
  const approvers = await resolveApprovers(turn, lookupIdsOf(onCall.tiers, deps.policy.approvers));
  if (!approvers.some((a) => deps.policy.allowSelfApproval || !samePerson(a, person)))
    return {
      ok: false,
      reason: `Nothing was requested: no on-call approver other than you is a member here to decide on the follow-up.`,
    };
  const device = await resolveDevice(deps.findDevice, deps.defender, parent.device.machineId);
  if (!device.ok) return { ok: false, reason: `Nothing was requested. ${device.message}` };
  const commands: LiveResponseCommand[] = [{ type: 'GetFile', path }];
  const library = checkLibrary(commands, await deps.library(), device.value.machine);
  if (!library.ok) return { ok: false, reason: library.message };
  const busy = checkNotBusy(await deps.activeActions(), device.value.machine);
  if (!busy.ok) return { ok: false, reason: busy.message };

  const now = deps.clock.now();
  let followUp: LiveResponseRequest | null = null;
  for (let attempt = 0; attempt < 5 && !followUp; attempt++) {
    const candidate: LiveResponseRequest = {
      ...newRequest({
        id: newRequestId(),
        tenantId: turn.tenantId,
        conversationId: turn.conversationId,
        conversationRef: turn.conversationRef,
        requester: person,
        device: deviceFacts(device.value),
        commands: library.value,
        ...(parent.reason ? { reason: parent.reason } : {}),
        approvers,
        ...(onCall.tiers[0] ? { onCall: namedTier(onCall.tiers[0], approvers) } : {}),
        now,
        approvalTimeoutMs: deps.approvalTimeoutMs,
      }),
      followUpOf: parent.id,
    };
    const onCallText = (candidate.onCall ?? []).flatMap(describeOnCall).join('; ');
    const detail = `${candidate.commands.map(describeCommand).join(' then ')} on ${candidate.device.computerDnsName} — follow-up of ${parent.id}${onCallText ? ` — ${onCallText}` : ''}`;
    if (await deps.requests.create(candidate, { action: 'requested', actor: actorOf(person), detail }))
      followUp = candidate;
  }
  if (!followUp) throw new Error('could not allocate a request id');
  const child = followUp;

  // The card first, then the record on the parent: a bot stopped in between leaves a follow-up everyone sees (and the
  // parent still offering the file), never a record pointing at a request nobody was shown.
  let activityId: string;
  try {
    activityId = await turn.sendCard(
      renderRequestCard(child, { viewer: 'everyone', now: new Date(now), publicBaseUrl: deps.publicBaseUrl }),
    );
  } catch (error) {
    await close(child, deps, 'Teams did not accept the follow-up card');
    throw error;
  }
  const posted = await applyAndDispatch(deps, child.id, { type: 'cardPosted', activityId });

  // One follow-up per file: of two clicks at once, the parent records one; the other's card says it was closed.
  const recorded = await applyAndDispatch(deps, parent.id, (current) =>
    current.followUps?.some((f) => f.path === path && f.requestId !== earlier?.requestId)
      ? null
      : {
          type: 'followUpAsked',
          followUp: { path, requestId: child.id, by: person, at: deps.clock.nowIso() },
          ...(earlier ? { replacing: earlier.requestId } : {}),
        },
  );
  const winner = recorded.ok ? recorded.request.followUps?.find((f) => f.path === path) : undefined;
  if (!recorded.ok || winner?.requestId !== child.id) {
    await close(child, deps, `${winner?.requestId ?? 'another click'} asked for the same file first`);
    return {
      ok: false,
      reason: winner
        ? `${path} was already asked for as ${winner.requestId} by ${winner.by.name}.`
        : `Nothing was requested: ${recorded.ok ? 'the follow-up could not be recorded' : recorded.message}`,
    };
  }
  if (deps.escalateAfterMs !== undefined)
    await deps.scheduler.escalateAt(child.id, now + deps.escalateAfterMs, deps.clock.now());
  const current = posted.ok ? posted.request : child;
  await applyPreApproval(recorded.request, current, person, deps);
  return { ok: true, parent: recorded.request, followUp: current };
}

/** Whether an earlier follow-up of the same file gives way to a new click: it ended before Defender had it. */
function givesWay(previous: LiveResponseRequest): boolean {
  return isFinal(previous.state) && !previous.actionId;
}

/** Closes a follow-up whose card never reached Teams, or that lost a race for the same file; the card says why. */
async function close(request: LiveResponseRequest, deps: FlowDeps, why: string): Promise<void> {
  const bot: Person = { teamsId: '', name: `LR Bot (${why})` };
  await applyAndDispatch(
    deps,
    request.id,
    { type: 'cancel', by: bot, at: deps.clock.nowIso() },
    { action: 'cancel', actor: actorOf(bot), detail: why },
  );
}

/**
 * A follow-up asked while its parent's pre-approval is in force is approved at once in the pre-approver's name, when
 * they may approve it: still on call for it (its own on-call snapshot), never their own request unless self-approval is
 * allowed, and only on a device Defender still lists as Active (otherwise an approver should see the warning first).
 */
async function applyPreApproval(
  parent: LiveResponseRequest,
  followUp: LiveResponseRequest,
  asker: Person,
  deps: FlowDeps,
): Promise<void> {
  const pre = parent.followUpPreApproval;
  const at = deps.clock.nowIso();
  if (deps.followUpPreApprovalMs === undefined || !pre || Date.parse(pre.until) <= Date.parse(at)) return;
  const notApplied = (why: string) =>
    applyAndDispatch(
      deps,
      followUp.id,
      { type: 'notice', text: `Not pre-approved: ${why} An approver decides as for any request.` },
      { action: 'pre-approval not applied', detail: why },
    );
  if (!deps.policy.allowSelfApproval && samePerson(pre.by, asker))
    return void (await notApplied(`${pre.by.name} pre-approved follow-ups and asked for this one.`));
  if (!isApprover(pre.by, policyForRequest(deps.policy, followUp)))
    return void (await notApplied(`${pre.by.name} is no longer on call.`));
  if (followUp.device.healthStatus !== 'Active')
    return void (await notApplied(
      `Defender lists ${followUp.device.computerDnsName} as ${followUp.device.healthStatus ?? 'of unknown health'} now.`,
    ));
  await applyAndDispatch(
    deps,
    followUp.id,
    { type: 'approve', by: pre.by, at, preApprovedFor: parent.id },
    {
      action: 'approved',
      actor: actorOf(pre.by),
      detail: `pre-approved follow-up of ${parent.id} (pre-approval given at ${pre.at}, until ${pre.until}); asked by ${asker.name}`,
    },
  );
}

/**
 * "Pre-approve follow-ups for 15 min" (FOLLOWUP_PREAPPROVAL=on): only the approver of the finished request, still on
 * call now, for FOLLOWUP_PREAPPROVAL_WINDOW from the click. Audited with its window.
 */
export async function preApproveFollowUps(
  turn: ChatTurn,
  parent: LiveResponseRequest,
  actor: Actor,
  deps: FlowDeps,
): Promise<{ ok: true; parent: LiveResponseRequest } | { ok: false; reason: string }> {
  const windowMs = deps.followUpPreApprovalMs;
  if (windowMs === undefined)
    return {
      ok: false,
      reason:
        'Pre-approving follow-ups is turned off here (FOLLOWUP_PREAPPROVAL=off); each follow-up is decided on its own card.',
    };
  const decision = parent.decision;
  if (!isFinal(parent.state) || decision?.kind !== 'approved')
    return {
      ok: false,
      reason: `${parent.id} has not finished after an approval; there is nothing to pre-approve.`,
    };
  if (!samePerson(actor.person, decision.by))
    return {
      ok: false,
      reason: `Only ${decision.by.name}, who approved ${parent.id}, may pre-approve its follow-ups.`,
    };
  const onCallNow = await onCallForDecision(parent, deps.onCall, (id) => turn.lookupMember(id));
  if (!onCallNow.ok) return { ok: false, reason: onCallNow.reason };
  const allowed = checkDecision(parent, actor, deps.policy, onCallNow.tiers);
  if (!allowed.ok) return { ok: false, reason: allowed.reason };
  const at = deps.clock.now();
  const until = new Date(at + windowMs).toISOString();
  const result = await applyAndDispatch(
    deps,
    parent.id,
    { type: 'followUpsPreApproved', by: actor.person, at: new Date(at).toISOString(), until },
    {
      action: 'follow-ups pre-approved',
      actor: actorOf(actor.person),
      detail: `follow-ups of ${parent.id} asked until ${until} are approved at once (${formatDuration(windowMs)})`,
    },
  );
  if (!result.ok) return { ok: false, reason: result.message };
  return { ok: true, parent: result.request };
}

/** The ports a follow-up needs (a Teams turn has them; the tab's API does not offer Collect), or null. */
export function followUpPorts(deps: Partial<FlowDeps>): FlowDeps | null {
  const complete =
    deps.requests &&
    deps.scheduler &&
    deps.policy &&
    deps.clock &&
    deps.logger &&
    deps.publicBaseUrl !== undefined;
  const preflight = deps.findDevice && deps.defender && deps.library && deps.activeActions;
  // Every required FlowDeps field is checked just above; the rest are optional.
  return complete && preflight && deps.approvalTimeoutMs !== undefined ? (deps as FlowDeps) : null;
}
