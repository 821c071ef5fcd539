import { describe, expect, it } from 'vitest';
import { newRequest } from './new-request.js';
import type { LiveResponseRequest, Person } from './request.js';
import { deadlineWords, notSubmittedFailure, overdueOf, type StateDeadlines } from './request-deadlines.js';
import { applyEvent, type RequestEvent } from './request-machine.js';

const requester: Person = { teamsId: '29:req', name: 'Riley Analyst' };
const approver: Person = { teamsId: '29:app', name: 'Alex Lead' };
const T0 = Date.parse('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const HOUR = 3_600_000;
const deadlines: StateDeadlines = {
  submitMs: HOUR,
  pendingMs: 3 * 24 * HOUR,
  runningMs: 2 * HOUR,
  cardSendGraceMs: 30_000,
};

function step(r: LiveResponseRequest, event: RequestEvent): LiveResponseRequest {
  const result = applyEvent(r, event);
  if (!result.ok) throw new Error(result.message);
  return result.request;
}

function approved(): LiveResponseRequest {
  const asked = newRequest({
    id: 'LR-DEAD01',
    tenantId: 't1',
    conversationId: '19:x@thread.tacv2',
    conversationRef: {},
    requester,
    device: { machineId: 'm'.repeat(40), computerDnsName: 'desktop-test.contoso.local' },
    commands: [{ type: 'RunScript', scriptName: 'whoami.ps1' }],
    approvers: [approver],
    now: T0,
    approvalTimeoutMs: 30 * 60_000,
  });
  return step(asked, { type: 'approve', by: approver, at: at(60) });
}

describe('state deadlines', () => {
  it('counts the submit deadline from the approval, not from the request', () => {
    const request = approved();
    expect(overdueOf(request, deadlines, T0 + 60_000 + HOUR - 1)).toBeNull();
    expect(overdueOf(request, deadlines, T0 + 60_000 + HOUR)).toEqual({
      phase: 'submit',
      since: at(60),
      limitMs: HOUR,
    });
  });

  it('ends a request never accepted with the last answer it got and says nothing ran', () => {
    let request = step(approved(), { type: 'submitStarted', at: at(61) });
    request = step(request, { type: 'submitAttemptFailed', error: 'Defender answered 503 ServerError' });
    expect(request.submission?.lastError).toBe('Defender answered 503 ServerError');
    expect(notSubmittedFailure(request, HOUR).message).toBe(
      'Could not be submitted to Defender within 1 h: Defender answered 503 ServerError. Nothing ran on the device.',
    );
  });

  it('gives Pending its own deadline from the submission and leaves a request being cancelled alone', () => {
    const action = {
      id: 'act-1',
      status: 'Pending',
      commands: [{ index: 0, commandStatus: 'Created', errors: [] }],
    } as never;
    const pending = step(approved(), { type: 'submitted', action, at: at(120) });
    expect(pending.state).toBe('Pending');
    expect(overdueOf(pending, deadlines, T0 + 120_000 + 2 * HOUR)).toBeNull();
    expect(overdueOf(pending, deadlines, T0 + 120_000 + 3 * 24 * HOUR)?.phase).toBe('pending');
    const cancelling = step(pending, { type: 'cancel', by: approver, at: at(200) });
    expect(overdueOf(cancelling, deadlines, T0 + 120_000 + 4 * 24 * HOUR)).toBeNull();
  });

  it('has no deadline awaiting approval (its own expiry) or once finished', () => {
    const asked = { ...approved(), state: 'AwaitingApproval' as const };
    expect(overdueOf(asked, deadlines, T0 + 100 * HOUR)).toBeNull();
    expect(overdueOf({ ...approved(), state: 'Failed' }, deadlines, T0 + 100 * HOUR)).toBeNull();
  });

  it('says deadlines in words', () => {
    expect(deadlineWords(HOUR)).toBe('1 h');
    expect(deadlineWords(3 * 24 * HOUR)).toBe('3 d');
    expect(deadlineWords(90 * 60_000)).toBe('90 min');
    expect(deadlineWords(3_000)).toBe('3s');
  });
});
