// ESCALATE_AFTER without a decision: resolves the next approver tier (APPROVERS_ESCALATION) now, finds its people in
// the request's conversation so the card can @mention them and records the escalation (audited with who was on call);
// the lifecycle's effects update the card (a lost update is put back by the reconciler). Runs once per request
// (deterministic job id); a decision or expiry first makes it a no-op.
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeOnCall } from '../core/on-call.js';
import type { Person, StoredConversationReference } from '../core/request.js';
import type { RequestStore } from '../core/request-store.js';
import { lookupIdsOf, namedTier } from '../flows/on-call-now.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
import { applyAndDispatch, type EffectPorts } from './dispatch-effects.js';
import type { JobPayloads } from './job-names.js';
import type { JobScheduler } from './job-scheduler.js';

/** Finds a person (by Entra object id or UPN) in a conversation's roster, outside any turn. */
export interface MemberFinder {
  findMember(reference: StoredConversationReference, idOrUpn: string): Promise<Person | null>;
}

export interface EscalateDeps {
  requests: RequestStore;
  scheduler: JobScheduler;
  onCall: OnCallDirectory;
  roster: MemberFinder;
  clock: Clock;
  logger: Logger;
  /** Test-only hook between a write and its effects (see EffectPorts). */
  beforeEffects?: EffectPorts['beforeEffects'];
}

export function createEscalateProcessor(deps: EscalateDeps) {
  const { requests, onCall, roster, clock } = deps;
  return async function escalate(job: Job<JobPayloads['escalate']>): Promise<string> {
    const request = await requests.get(job.data.requestId);
    if (request?.state !== 'AwaitingApproval' || request.escalatedAt) return 'nothing to escalate';
    if (onCall.tierCount < 2) return 'no tier to escalate to';
    const teamId = request.onCall?.find((tier) => tier.teamId)?.teamId;
    // A Graph failure throws: BullMQ retries with back-off (the card is still open).
    const tier = await onCall.resolve(2, {
      ...(teamId ? { teamId } : {}),
      ...(request.requester.aadObjectId ? { actingUserId: request.requester.aadObjectId } : {}),
    });
    const found = await Promise.all(
      lookupIdsOf([tier], []).map((id) => roster.findMember(request.conversationRef, id).catch(() => null)),
    );
    const people = found.filter((p): p is Person => Boolean(p?.teamsId));
    const named = namedTier(tier, people);
    const onCallText = [
      ...describeOnCall(named),
      ...(named.people.length ? [`listed: ${named.people.join(', ')}`] : []),
    ];
    // Its effect: the card update that mentions the next tier.
    const result = await applyAndDispatch(
      deps,
      request.id,
      { type: 'escalate', at: clock.nowIso(), tier: named, approvers: people },
      {
        action: 'escalated',
        detail: `no decision in time; tier 2 asked — ${onCallText.join('; ') || 'nobody on call'}`,
      },
    );
    if (!result.ok) return 'gone';
    deps.logger.info({ requestId: request.id, mentioned: people.length }, 'approval escalated to tier 2');
    return result.changed ? 'escalated' : 'already decided';
  };
}
