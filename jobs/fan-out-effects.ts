// What follows a fan-out's changes (core/fan-out.ts): its devices' requests created at approval and submitted,
// cancelled together, the parent's card re-rendered as they move (coalesced), and the parent ended after the last.
// Every step is idempotent (child ids are fixed on the parent, job ids are deterministic), so a retry, a crash between
// a write and these effects, or the reconciler running them again creates and sends nothing twice.

import { describeCommand } from '../core/commands.js';
import {
  countFanOut,
  FANOUT_CARD_WINDOW_MS,
  fanOutOutcome,
  includedTargets,
  loadChildren,
  newChildRequest,
  summaryLine,
} from '../core/fan-out.js';
import { isFinal, type LiveResponseRequest } from '../core/request.js';
import type { RequestEvent } from '../core/request-machine.js';
import { type AuditEntry, actorOf, type StoreTransitionResult } from '../core/request-store.js';
import type { EffectPorts } from './dispatch-effects.js';

/** applyAndDispatch, passed in so this module and the dispatcher do not import each other. */
export type ApplyAndDispatch = (
  ports: EffectPorts,
  id: string,
  event: RequestEvent | ((request: LiveResponseRequest) => RequestEvent | null),
  audit?: Omit<AuditEntry, 'at' | 'requestId'>,
) => Promise<StoreTransitionResult>;

/**
 * Creates the request of every included device not created yet and submits those still to be sent (one submit job
 * per child id: a repeat adds nothing). Returns how many it created.
 */
export async function startFanOut(
  ports: EffectPorts,
  parentId: string,
  apply: ApplyAndDispatch,
): Promise<number> {
  const { requests, scheduler, clock } = ports;
  const parent = await requests.get(parentId);
  if (!parent?.fanOut || !parent.decision || parent.decision.kind !== 'approved') return 0;
  let created = 0;
  for (const target of includedTargets(parent)) {
    if (!target.device) continue;
    let child = await requests.get(target.childId);
    if (!child) {
      const fresh = newChildRequest(
        parent,
        { ...target, device: target.device },
        new Date(clock.now()).toISOString(),
      );
      const made = await requests.create(fresh, {
        action: fresh.state === 'Cancelled' ? 'cancel' : 'approved',
        actor: actorOf(fresh.state === 'Cancelled' ? parent.cancellation!.by : parent.decision.by),
        detail: `${fresh.commands.map(describeCommand).join(' then ')} on ${fresh.device.computerDnsName} — one device of ${parent.id}`,
      });
      if (made) created++;
      child = made ? fresh : await requests.get(target.childId);
    }
    // Ids are random and checked free when the request is made; one taken since would be another request's.
    if (child?.parentId !== parent.id)
      throw new Error(`${target.childId} is not a device request of ${parent.id}; not submitting it`);
    if (child.state === 'Approved' || child.state === 'Submitting') await scheduler.submit(child.id);
  }
  await scheduler.updateCard(parent.id, `fan-start-${parent.version}`);
  // Children created already cancelled (a cancel-all came first) end the parent here: no child change will.
  await finishParent(ports, parent.id, apply);
  return created;
}

/** Asks every device's request of a cancelled fan-out to cancel; returns how many took the cancel. */
export async function cancelChildren(
  ports: EffectPorts,
  parentId: string,
  apply: ApplyAndDispatch,
): Promise<number> {
  const parent = await ports.requests.get(parentId);
  const by = parent?.cancellation?.by;
  if (!parent || !by) return 0;
  let cancelled = 0;
  for (const target of includedTargets(parent)) {
    const result = await apply(
      ports,
      target.childId,
      (child) =>
        isFinal(child.state) || child.cancellation
          ? null
          : { type: 'cancel', by, at: parent.cancellation?.at ?? new Date(ports.clock.now()).toISOString() },
      { action: 'cancel', actor: actorOf(by), detail: `cancel all of ${parent.id}` },
    );
    // NotFound: not created yet; startFanOut creates it already cancelled.
    if (result.ok && result.changed) cancelled++;
  }
  return cancelled;
}

/**
 * One re-render of the parent's card per FANOUT_CARD_WINDOW_MS however many devices change: the job runs at the end
 * of the window (its id names the window, so later changes in it add nothing) and renders what is current then.
 */
export async function updateParentCard(ports: EffectPorts, parentId: string): Promise<void> {
  const now = ports.clock.now();
  const window = Math.floor(now / FANOUT_CARD_WINDOW_MS);
  const delay = (window + 1) * FANOUT_CARD_WINDOW_MS - now;
  await ports.scheduler.updateCard(parentId, `fan-${window}`, delay);
}

/** Ends the parent once every device's request has ended with its results in; true when it did now. */
export async function finishParent(
  ports: EffectPorts,
  parentId: string,
  apply: ApplyAndDispatch,
): Promise<boolean> {
  const parent = await ports.requests.get(parentId);
  if (!parent?.fanOut || isFinal(parent.state) || parent.state === 'AwaitingApproval') return false;
  const children = await loadChildren(ports.requests, parent);
  const state = fanOutOutcome(parent, children, ports.clock.now());
  if (!state) return false;
  const result = await apply(
    ports,
    parentId,
    { type: 'fanOutFinished', state, at: new Date(ports.clock.now()).toISOString() },
    { action: 'finished', detail: summaryLine(countFanOut(parent, children)) },
  );
  return result.ok && result.changed;
}

/**
 * The reconciler's look at an approved fan-out parent: the children a crash kept from being created, a cancel-all
 * that did not reach every child, and a parent whose last child ended without ending it. Returns what it repaired.
 */
export async function reconcileFanOut(
  ports: EffectPorts,
  parent: LiveResponseRequest,
  apply: ApplyAndDispatch,
): Promise<Array<'fanOut' | 'cancel' | 'finished'>> {
  const repaired: Array<'fanOut' | 'cancel' | 'finished'> = [];
  if (isFinal(parent.state) || parent.state === 'AwaitingApproval') return repaired;
  const children = await loadChildren(ports.requests, parent);
  if (includedTargets(parent).some((t) => !children.has(t.childId))) {
    if ((await startFanOut(ports, parent.id, apply)) > 0) repaired.push('fanOut');
  }
  if (parent.cancellation && (await cancelChildren(ports, parent.id, apply)) > 0) repaired.push('cancel');
  if (await finishParent(ports, parent.id, apply)) repaired.push('finished');
  return repaired;
}
