// The fan-out's pure rules: its effects (children created at approval, never a submission of its own), cancel-all,
// when the parent ends and how, the summary line, and the child record.
import { describe, expect, it } from 'vitest';
import { fixtureFanOut } from '../cards/fixtures.js';
import { countFanOut, fanOutOutcome, newChildRequest, RESULTS_GRACE_MS, summaryLine } from './fan-out.js';
import type { LiveResponseRequest, Person } from './request.js';
import { applyEvent } from './request-machine.js';

const ALEX: Person = { teamsId: '29:alex', name: 'Alex Lead' };
const AT = '2024-05-14T09:10:00.000Z';
const NOW = Date.parse('2024-05-14T09:30:00.000Z');

function awaiting(): LiveResponseRequest {
  return fixtureFanOut(4, { state: 'AwaitingApproval' }).parent;
}

describe('a fan-out in the lifecycle', () => {
  it('creates its device requests at approval instead of submitting itself', () => {
    const result = applyEvent(awaiting(), { type: 'approve', by: ALEX, at: AT });
    if (!result.ok) throw new Error(result.message);
    expect(result.request.state).toBe('Approved');
    expect(result.effects.map((e) => e.type)).toContain('startFanOut');
    expect(result.effects.map((e) => e.type)).not.toContain('submit');
  });

  it('asks every device to cancel on Cancel all after approval, and ends only when they have', () => {
    const approved = applyEvent(awaiting(), { type: 'approve', by: ALEX, at: AT });
    if (!approved.ok) throw new Error(approved.message);
    const cancelled = applyEvent(approved.request, { type: 'cancel', by: ALEX, at: AT });
    if (!cancelled.ok) throw new Error(cancelled.message);
    expect(cancelled.request.state).toBe('Approved');
    expect(cancelled.request.cancellation?.by).toEqual(ALEX);
    expect(cancelled.effects.map((e) => e.type)).toContain('cancelChildren');

    const ended = applyEvent(cancelled.request, { type: 'fanOutFinished', state: 'Cancelled', at: AT });
    if (!ended.ok) throw new Error(ended.message);
    expect(ended.request.state).toBe('Cancelled');
    expect(ended.request.cancellation?.confirmedAt).toBe(AT);
  });

  it('cancels at once before approval (nothing was created)', () => {
    const result = applyEvent(awaiting(), { type: 'cancel', by: ALEX, at: AT });
    expect(result.ok && result.request.state).toBe('Cancelled');
  });

  it('ignores fanOutFinished before approval or after the end', () => {
    const early = applyEvent(awaiting(), { type: 'fanOutFinished', state: 'Succeeded', at: AT });
    expect(early.ok && early.changed).toBe(false);
    const { parent } = fixtureFanOut(4);
    const late = applyEvent(parent, { type: 'fanOutFinished', state: 'Succeeded', at: AT });
    expect(late.ok && late.changed).toBe(false);
  });

  it('re-renders the parent card on any change of a device request and checks the parent when it ends', () => {
    const { children } = fixtureFanOut(4, { state: 'Running' });
    const running = [...children.values()].find((c) => c.state === 'InProgress')!;
    const progressed = applyEvent(running, { type: 'notice', text: 'x' });
    expect(progressed.ok && progressed.effects.map((e) => e.type)).toEqual(['updateParentCard']);
    const failed = applyEvent(running, {
      type: 'submitFailed',
      failure: { code: 'X', message: 'y' },
      at: AT,
    });
    expect(failed.ok && failed.effects.map((e) => e.type)).toEqual(
      expect.arrayContaining(['updateParentCard', 'finishParent']),
    );
  });
});

describe('how a fan-out ends', () => {
  it('waits for every device (and its results), then says Succeeded, Cancelled or Failed', () => {
    const running = fixtureFanOut(4, { state: 'Running' });
    expect(fanOutOutcome(running.parent, running.children, NOW)).toBeNull();
    const finished = fixtureFanOut(11);
    expect(fanOutOutcome(finished.parent, finished.children, NOW)).toBe('Failed');
    const allGood = fixtureFanOut(3);
    for (const child of allGood.children.values()) child.state = 'Succeeded';
    expect(fanOutOutcome(allGood.parent, allGood.children, NOW)).toBe('Succeeded');
    // A device cancelled on purpose is not a failure; all cancelled is Cancelled.
    [...allGood.children.values()][0]!.state = 'Cancelled';
    expect(fanOutOutcome(allGood.parent, allGood.children, NOW)).toBe('Succeeded');
    for (const child of allGood.children.values()) child.state = 'Cancelled';
    expect(fanOutOutcome(allGood.parent, allGood.children, NOW)).toBe('Cancelled');
    // A result not fetched yet keeps the parent open: its last card must show every exit code.
    const noResult = fixtureFanOut(3);
    const child = [...noResult.children.values()][0]!;
    child.state = 'Succeeded';
    child.progress = [{ status: 'Completed', errors: [] }];
    child.finishedAt = new Date(NOW - 60_000).toISOString();
    expect(fanOutOutcome(noResult.parent, noResult.children, NOW)).toBeNull();
    // …unless Defender has not given it for RESULTS_GRACE_MS: then the parent ends without it.
    expect(fanOutOutcome(noResult.parent, noResult.children, NOW + RESULTS_GRACE_MS)).not.toBeNull();
  });

  it('writes the summary line as responders read it', () => {
    const { parent, children } = fixtureFanOut(10);
    expect(summaryLine(countFanOut(parent, children))).toBe('7 of 9 succeeded, 1 failed, 1 timed out');
    const running = fixtureFanOut(6, { state: 'Running' });
    expect(summaryLine(countFanOut(running.parent, running.children))).toMatch(
      /^\d of 5 succeeded, \d not finished$/,
    );
  });
});

describe('a device request of a fan-out', () => {
  it('is created approved by the parent’s decision, with its approvers and no card', () => {
    const approved = applyEvent(awaiting(), { type: 'approve', by: ALEX, at: AT });
    if (!approved.ok) throw new Error(approved.message);
    const target = approved.request.fanOut!.targets[1]!;
    const child = newChildRequest(
      approved.request,
      { ...target, childId: target.childId!, device: target.device! },
      AT,
    );
    expect(child).toMatchObject({
      id: target.childId,
      state: 'Approved',
      parentId: approved.request.id,
      decision: { kind: 'approved', by: ALEX },
      approvers: approved.request.approvers,
      device: target.device,
    });
    expect(child.card).toBeUndefined();
  });

  it('is created already cancelled when Cancel all came first', () => {
    const approved = applyEvent(awaiting(), { type: 'approve', by: ALEX, at: AT });
    if (!approved.ok) throw new Error(approved.message);
    const cancelled = applyEvent(approved.request, { type: 'cancel', by: ALEX, at: AT });
    if (!cancelled.ok) throw new Error(cancelled.message);
    const target = cancelled.request.fanOut!.targets[1]!;
    const child = newChildRequest(
      cancelled.request,
      { ...target, childId: target.childId!, device: target.device! },
      AT,
    );
    expect(child.state).toBe('Cancelled');
    expect(child.progress.every((p) => p.status === 'NotRun')).toBe(true);
  });
});
