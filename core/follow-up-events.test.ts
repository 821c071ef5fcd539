// The lifecycle's follow-up events: a finished request records which request took each file its output named, once
// per file (an earlier follow-up that never ran gives way only when named), and its approver's pre-approval.
import { describe, expect, it } from 'vitest';
import type { LiveResponseRequest, Person } from './request.js';
import { applyEvent } from './request-machine.js';

const alex: Person = { teamsId: '29:alex', aadObjectId: 'alex', name: 'Alex Lead' };
const riley: Person = { teamsId: '29:riley', aadObjectId: 'riley', name: 'Riley' };
const PATH = 'C:\\windows\\TEMP\\x.zip';

function finished(state: LiveResponseRequest['state'] = 'Succeeded'): LiveResponseRequest {
  return {
    id: 'LR-PARENT',
    version: 7,
    tenantId: 't',
    conversationId: 'c',
    conversationRef: {},
    requester: riley,
    device: { machineId: 'm'.repeat(40), computerDnsName: 'desktop-test' },
    commands: [{ type: 'RunScript', scriptName: 'minidump.ps1' }],
    state,
    createdAt: '2025-01-01T10:00:00Z',
    expiresAt: '2025-01-01T10:30:00Z',
    approvers: [alex],
    decision: { kind: 'approved', by: alex, at: '2025-01-01T10:01:00Z' },
    progress: [{ status: 'Completed', errors: [] }],
    card: { activityId: 'a1' },
  };
}

const asked = (requestId: string) => ({
  type: 'followUpAsked' as const,
  followUp: { path: PATH, requestId, by: riley, at: '2025-01-01T10:10:00Z' },
});

describe('followUpAsked', () => {
  it('records the follow-up on a finished request and updates its card', () => {
    const result = applyEvent(finished(), asked('LR-CHILD1'));
    expect(result).toMatchObject({ ok: true, changed: true, effects: [{ type: 'updateCard', tag: 8 }] });
    expect(result.ok && result.request.followUps?.map((f) => f.requestId)).toEqual(['LR-CHILD1']);
  });

  it('refuses before the request finished: its output is not there yet', () => {
    expect(applyEvent(finished('InProgress'), asked('LR-CHILD1'))).toMatchObject({
      ok: false,
      error: 'NotFinished',
    });
  });

  it('keeps the first follow-up of a file, and replaces it only when the new one names it', () => {
    const first = applyEvent(finished(), asked('LR-CHILD1'));
    if (!first.ok) throw new Error('not recorded');
    expect(applyEvent(first.request, asked('LR-CHILD2'))).toMatchObject({ ok: true, changed: false });
    expect(applyEvent(first.request, { ...asked('LR-CHILD2'), replacing: 'LR-OTHER' })).toMatchObject({
      changed: false,
    });
    const replaced = applyEvent(first.request, { ...asked('LR-CHILD2'), replacing: 'LR-CHILD1' });
    expect(replaced.ok && replaced.request.followUps?.map((f) => f.requestId)).toEqual(['LR-CHILD2']);
  });
});

describe('followUpsPreApproved', () => {
  it('records who pre-approved until when, only on a request that finished after an approval', () => {
    const event = {
      type: 'followUpsPreApproved' as const,
      by: alex,
      at: '2025-01-01T10:10:00Z',
      until: '2025-01-01T10:25:00Z',
    };
    const result = applyEvent(finished(), event);
    expect(result.ok && result.request.followUpPreApproval).toEqual({
      by: alex,
      at: event.at,
      until: event.until,
    });
    expect(applyEvent(finished('Pending'), event)).toMatchObject({ ok: false, error: 'NotFinished' });
    const rejected = {
      ...finished('Rejected'),
      decision: { kind: 'rejected' as const, by: alex, at: event.at },
    };
    expect(applyEvent(rejected, event)).toMatchObject({ ok: false, error: 'NotFinished' });
  });
});
