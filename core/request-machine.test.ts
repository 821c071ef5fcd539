import { describe, expect, it } from 'vitest';
import type { MachineAction } from '../defender/types.js';
import { newRequest } from './new-request.js';
import type { LiveResponseRequest, Person } from './request.js';
import {
  applyEvent,
  commandsNeedingResults,
  needsDefenderCancel,
  type RequestEvent,
} from './request-machine.js';

const requester: Person = { teamsId: '29:req', aadObjectId: 'aad-req', name: 'Riley Analyst' };
const approver: Person = { teamsId: '29:app', aadObjectId: 'aad-app', name: 'Alex Lead' };
const T0 = Date.parse('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function request(): LiveResponseRequest {
  return newRequest({
    id: 'LR-ABC123',
    tenantId: 't1',
    conversationId: '19:x@thread.tacv2;messageid=1',
    conversationRef: {},
    requester,
    device: { machineId: 'm'.repeat(40), computerDnsName: 'desktop-test.contoso.local' },
    commands: [
      { type: 'RunScript', scriptName: 'minidump.ps1', args: 'OfficeClickToRun' },
      { type: 'GetFile', path: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' },
    ],
    approvers: [approver],
    now: T0,
    approvalTimeoutMs: 30 * 60_000,
  });
}

function step(r: LiveResponseRequest, event: RequestEvent): LiveResponseRequest {
  const result = applyEvent(r, event);
  if (!result.ok) throw new Error(result.message);
  return result.request;
}

function action(status: string, commandStatuses: string[], errors: string[][] = []): MachineAction {
  return {
    id: 'act-1',
    type: 'LiveResponse',
    requestor: 'app',
    requestorComment: '[lr:LR-ABC123]',
    status,
    machineId: 'm'.repeat(40),
    computerDnsName: 'desktop-test',
    creationDateTimeUtc: at(60),
    commands: commandStatuses.map((commandStatus, index) => ({
      index,
      startTime: null,
      endTime: null,
      commandStatus,
      errors: errors[index] ?? [],
      command: { type: 'RunScript', params: [] },
    })),
  };
}

describe('request lifecycle', () => {
  it('approves once and refuses a second decision', () => {
    const approved = step(request(), { type: 'approve', by: approver, at: at(10) });
    expect(approved.state).toBe('Approved');
    expect(approved.version).toBe(2);
    const again = applyEvent(approved, { type: 'reject', by: approver, at: at(11) });
    expect(again).toMatchObject({ ok: false, error: 'AlreadyDecided' });
  });

  it('turns a decision after the deadline into Expired', () => {
    const late = step(request(), { type: 'approve', by: approver, at: at(31 * 60) });
    expect(late.state).toBe('Expired');
    expect(late.decision).toBeUndefined();
  });

  it('rejects with a reason and marks commands not run', () => {
    const rejected = step(request(), { type: 'reject', by: approver, at: at(5), reason: 'wrong device' });
    expect(rejected.state).toBe('Rejected');
    expect(rejected.decision?.reason).toBe('wrong device');
    expect(rejected.progress.map((p) => p.status)).toEqual(['NotRun', 'NotRun']);
  });

  it('does not expire before the deadline', () => {
    expect(applyEvent(request(), { type: 'expire', at: at(60) }).ok).toBe(false);
    expect(step(request(), { type: 'expire', at: at(30 * 60) }).state).toBe('Expired');
  });

  it('follows Defender through to success with per-command progress', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    expect(r.state).toBe('Submitting');
    r = step(r, { type: 'submitted', action: action('Pending', ['Created', 'Created']), at: at(12) });
    expect(r.state).toBe('Pending');
    expect(r.actionId).toBe('act-1');
    r = step(r, {
      type: 'actionObserved',
      action: action('InProgress', ['Completed', 'InProgress']),
      at: at(20),
    });
    expect(r.progress.map((p) => p.status)).toEqual(['Completed', 'InProgress']);
    expect(commandsNeedingResults(r)).toEqual([0]);
    r = step(r, {
      type: 'actionObserved',
      action: action('Succeeded', ['Completed', 'Completed']),
      at: at(30),
    });
    expect(r.state).toBe('Succeeded');
    expect(r.finishedAt).toBe(at(30));
  });

  it('shows commands after a failure as not run', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, {
      type: 'actionObserved',
      action: action('Failed', ['Failed', 'Created'], [['Script crashed']]),
      at: at(40),
    });
    expect(r.state).toBe('Failed');
    expect(r.progress.map((p) => p.status)).toEqual(['Failed', 'NotRun']);
    expect(r.failure?.message).toContain('Script crashed');
  });

  it('treats unknown command statuses as not finished', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'actionObserved', action: action('InProgress', ['Queued', 'Created']), at: at(12) });
    expect(r.progress[0]?.status).toBe('InProgress');
    expect(r.state).toBe('InProgress');
  });

  it('cancels at once before submission and asks Defender after', () => {
    const early = step(request(), { type: 'cancel', by: requester, at: at(5) });
    expect(early.state).toBe('Cancelled');
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'submitted', action: action('Pending', ['Created', 'Created']), at: at(12) });
    r = step(r, { type: 'cancel', by: requester, at: at(13) });
    expect(r.state).toBe('Pending');
    expect(needsDefenderCancel(r)).toBe(true);
    r = step(r, { type: 'actionObserved', action: action('Cancelled', ['Created', 'Created']), at: at(20) });
    expect(r.state).toBe('Cancelled');
    expect(needsDefenderCancel(r)).toBe(false);
  });

  it('drops a cancel that came too late when the action ends another way, and says so', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'submitted', action: action('InProgress', ['InProgress', 'Created']), at: at(12) });
    r = step(r, { type: 'cancel', by: requester, at: at(13) });
    r = step(r, {
      type: 'actionObserved',
      action: action('Succeeded', ['Completed', 'Completed']),
      at: at(20),
    });
    expect(r.state).toBe('Succeeded');
    expect(r.cancellation).toBeUndefined();
    expect(r.notice).toMatch(/Too late to cancel \(asked by Riley Analyst\)/);
  });

  it('refuses to submit what is not approved', () => {
    expect(applyEvent(request(), { type: 'submitStarted', at: at(1) })).toMatchObject({
      ok: false,
      error: 'NotSubmittable',
    });
  });

  it('forgets an attempt Defender refused with 429, so the next one need not look for its action', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'submitNotCreated' });
    expect(r.state).toBe('Submitting');
    expect(r.submission).toEqual({ attempts: 1 });
    expect(applyEvent(r, { type: 'submitNotCreated' })).toMatchObject({ ok: true, changed: false });
    r = step(r, { type: 'submitStarted', at: at(14) });
    expect(r.submission).toEqual({ attempts: 2, lastAttemptAt: at(14) });
  });

  it('does not record a second Defender action for one request', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'submitted', action: action('Pending', ['Created', 'Created']), at: at(12) });
    const other = { ...action('Pending', ['Created', 'Created']), id: 'act-2' };
    expect(applyEvent(r, { type: 'submitted', action: other, at: at(13) }).ok).toBe(false);
  });

  it('reports no change when nothing changed', () => {
    let r = step(request(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    r = step(r, { type: 'submitted', action: action('Pending', ['Created', 'Created']), at: at(12) });
    const same = applyEvent(r, {
      type: 'actionObserved',
      action: action('Pending', ['Created', 'Created']),
      at: at(12),
    });
    expect(same).toMatchObject({ ok: true, changed: false });
  });
});

describe('effects of a transition (what must follow it)', () => {
  const posted = (): LiveResponseRequest => step(request(), { type: 'cardPosted', activityId: 'card-1' });
  const effects = (r: LiveResponseRequest, event: RequestEvent) => {
    const result = applyEvent(r, event);
    if (!result.ok) throw new Error(result.message);
    return result.effects;
  };

  it('schedules the expiry at the deadline when the card is posted', () => {
    expect(effects(request(), { type: 'cardPosted', activityId: 'card-1' })).toEqual([
      { type: 'expireAt', at: request().expiresAt },
    ]);
  });

  it('submits an approval and updates the card; a rejection only updates the card', () => {
    const r = posted();
    expect(effects(r, { type: 'approve', by: approver, at: at(10) })).toEqual([
      { type: 'submit' },
      { type: 'updateCard', tag: r.version + 1 },
    ]);
    expect(effects(r, { type: 'reject', by: approver, at: at(10) })).toEqual([
      { type: 'updateCard', tag: r.version + 1 },
    ]);
  });

  it('does not submit an approval that came after the deadline (it expired instead)', () => {
    expect(effects(posted(), { type: 'approve', by: approver, at: at(31 * 60) })).toEqual([
      { type: 'updateCard', tag: 3 },
    ]);
  });

  it('updates no card that was never posted', () => {
    expect(effects(request(), { type: 'reject', by: approver, at: at(10) })).toEqual([]);
  });

  it('records an attempt without touching the card, and clears a queued notice with it', () => {
    let r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'notice', text: 'Queued: all 25 live response sessions are in use.' });
    const result = applyEvent(r, { type: 'submitStarted', at: at(11) });
    expect(result).toMatchObject({ ok: true, effects: [] });
    expect(result.ok && result.request.notice).toBeFalsy();
  });

  it('after a submission: card, queue positions; a recovered action already finished also frees its slot, audits and fetches results', () => {
    let r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitStarted', at: at(11) });
    expect(
      effects(r, { type: 'submitted', action: action('Pending', ['Created', 'Created']), at: at(12) }),
    ).toEqual([{ type: 'updateCard', tag: r.version + 1 }, { type: 'refreshQueuePositions' }]);
    expect(
      effects(r, { type: 'submitted', action: action('Succeeded', ['Completed', 'Completed']), at: at(12) }),
    ).toEqual([
      { type: 'updateCard', tag: r.version + 1 },
      { type: 'releaseSession' },
      { type: 'audit', action: 'finished', detail: 'Succeeded (Defender: Succeeded)' },
      { type: 'fetchResult', index: 0 },
      { type: 'fetchResult', index: 1 },
      { type: 'refreshQueuePositions' },
    ]);
  });

  it('asks again for results not fetched yet even when an observation changes nothing', () => {
    let r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    const done = action('Succeeded', ['Completed', 'Completed']);
    r = step(r, { type: 'submitted', action: done, at: at(12) });
    expect(effects(r, { type: 'actionObserved', action: done, at: at(13) })).toEqual([
      { type: 'fetchResult', index: 0 },
      { type: 'fetchResult', index: 1 },
    ]);
  });

  it('asks Defender to cancel a running action, and cancels at once what was not sent', () => {
    let r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    // Leaving the line moves everyone behind up.
    expect(effects(r, { type: 'cancel', by: requester, at: at(11) })).toEqual([
      { type: 'updateCard', tag: r.version + 1 },
      { type: 'releaseSession' },
      { type: 'refreshQueuePositions' },
    ]);
    r = step(r, { type: 'submitted', action: action('InProgress', ['InProgress', 'Created']), at: at(12) });
    expect(effects(r, { type: 'cancel', by: requester, at: at(13) })).toEqual([
      { type: 'updateCard', tag: r.version + 1 },
      { type: 'cancelInDefender', tag: r.version + 1 },
    ]);
  });

  it('frees the slot and shows a refused submission on the card', () => {
    const r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    expect(
      effects(r, {
        type: 'submitFailed',
        failure: { code: 'DisallowedOperation', message: 'no' },
        at: at(11),
      }),
    ).toEqual([
      { type: 'updateCard', tag: r.version + 1 },
      { type: 'releaseSession' },
      { type: 'refreshQueuePositions' },
    ]);
  });

  it('renews every link and clears the "fetching" notice in one change: one card update', () => {
    let r = step(posted(), { type: 'approve', by: approver, at: at(10) });
    r = step(r, { type: 'submitted', action: action('Succeeded', ['Completed', 'Completed']), at: at(12) });
    r = step(r, { type: 'notice', text: 'Fetching fresh download links…' });
    const link = (id: string) => ({ id, expiresAt: at(3600) });
    const result = applyEvent(r, {
      type: 'linksRenewed',
      links: [
        { index: 0, link: link('a') },
        { index: 1, link: link('b') },
      ],
    });
    if (!result.ok) throw new Error(result.message);
    expect(result.request.notice).toBeUndefined();
    expect(result.request.progress.map((p) => p.link?.id)).toEqual(['a', 'b']);
    expect(result.effects).toEqual([{ type: 'updateCard', tag: r.version + 1 }]);
  });
});
