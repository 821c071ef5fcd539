import { describe, expect, it } from 'vitest';
import { checkDecision } from './approval-policy.js';
import { approverIdsOf, describeOnCall, type OnCallTier, parseApproverEntry } from './on-call.js';
import type { LiveResponseRequest, Person } from './request.js';
import { applyEvent } from './request-machine.js';

const alex: Person = {
  teamsId: '29:alex',
  aadObjectId: 'aaaaaaaa-0000-4000-8000-000000000001',
  name: 'Alex Lead',
};
const sam: Person = {
  teamsId: '29:sam',
  aadObjectId: 'aaaaaaaa-0000-4000-8000-000000000002',
  name: 'Sam Ops',
};
const riley: Person = {
  teamsId: '29:riley',
  aadObjectId: 'aaaaaaaa-0000-4000-8000-000000000003',
  name: 'Riley',
};

function tier(n: number, source: string, people: Person[]): OnCallTier {
  return {
    tier: n,
    resolvedAt: '2026-12-07T10:00:00.000Z',
    people: [],
    sources: [{ source, people: people.map((p) => ({ aadObjectId: p.aadObjectId!, name: p.name })) }],
  };
}

function request(onCall: OnCallTier[]): LiveResponseRequest {
  return {
    id: 'LR-ABC123',
    version: 2,
    tenantId: 't',
    conversationId: '19:c',
    conversationRef: {},
    requester: riley,
    device: { machineId: 'm', computerDnsName: 'desktop-test' },
    commands: [],
    state: 'AwaitingApproval',
    createdAt: '2026-12-07T10:00:00.000Z',
    expiresAt: '2026-12-07T10:30:00.000Z',
    approvers: [alex],
    onCall,
    progress: [],
    card: { activityId: 'a' },
  };
}

const policy = { approvers: [], allowSelfApproval: false, allowedTenantIds: [] };
const actor = (person: Person) => ({ person, tenantId: 't', conversationId: '19:c' });

describe('on-call sources', () => {
  it('says who is on call from which source', () => {
    expect(describeOnCall(tier(1, 'shifts:SOC Tier 1', [alex, sam]))).toEqual([
      'On call (shifts:SOC Tier 1): Alex Lead, Sam Ops',
    ]);
    expect(parseApproverEntry('Shifts: SOC Tier 1')).toEqual({
      ok: true,
      source: { kind: 'shifts', name: 'SOC Tier 1' },
    });
  });

  it('refuses someone whose shift ended with that reason, and someone never on call as before', () => {
    const asked = request([tier(1, 'shifts:SOC Tier 1', [alex])]);
    const now = [tier(1, 'shifts:SOC Tier 1', [sam])];
    expect(checkDecision(asked, actor(alex), policy, now)).toEqual({
      ok: false,
      reason:
        'You are no longer on call (shifts:SOC Tier 1): you were when LR-ABC123 was asked, but your shift or membership has ended, so you can no longer decide on it (on call now: Sam Ops).',
    });
    expect(checkDecision(asked, actor(riley), policy, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^You asked for|^Only the on-call approvers/),
    });
    expect(checkDecision(asked, actor(sam), policy, now)).toEqual({ ok: true });
  });

  it('escalates once, adding the next tier to the snapshot and the mentions; never after a decision', () => {
    const asked = request([tier(1, 'shifts:SOC Tier 1', [alex])]);
    const tier2 = tier(2, 'tag:oncall', [sam]);
    const first = applyEvent(asked, {
      type: 'escalate',
      at: '2026-12-07T10:10:00.000Z',
      tier: tier2,
      approvers: [sam],
    });
    expect(first.ok && first.changed).toBe(true);
    if (!first.ok) return;
    expect(first.request.approvers.map((p) => p.name)).toEqual(['Alex Lead', 'Sam Ops']);
    expect(approverIdsOf(first.request.onCall ?? [])).toEqual([alex.aadObjectId, sam.aadObjectId]);
    const again = applyEvent(first.request, {
      type: 'escalate',
      at: '2026-12-07T10:11:00.000Z',
      tier: tier2,
      approvers: [],
    });
    expect(again.ok && again.changed).toBe(false);

    const decided = { ...asked, state: 'Approved' as const };
    const late = applyEvent(decided, {
      type: 'escalate',
      at: '2026-12-07T10:10:00.000Z',
      tier: tier2,
      approvers: [sam],
    });
    expect(late.ok && late.changed).toBe(false);
  });
});
