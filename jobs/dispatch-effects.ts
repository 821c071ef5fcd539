// Carries out what the lifecycle decided must follow a change (core/request-effects.ts): one place turns effects into
// jobs, card updates and freed slots, so flows and processors only apply events. Every job it adds has a
// deterministic id, so carrying out the same effects twice (a retry, the reconciler) adds nothing twice.
import type { LiveResponseRequest } from '../core/request.js';
import type { RequestEffect } from '../core/request-effects.js';
import type { RequestEvent } from '../core/request-machine.js';
import type { AuditEntry, RequestStore, StoreTransitionResult } from '../core/request-store.js';
import type { SessionSlots } from '../defender/session-slots.js';
import { cancelChildren, finishParent, startFanOut, updateParentCard } from './fan-out-effects.js';
import type { JobScheduler } from './job-scheduler.js';

export interface EffectPorts {
  requests: RequestStore;
  scheduler: Pick<
    JobScheduler,
    'submit' | 'updateCard' | 'expireAt' | 'fetchResult' | 'cancel' | 'refreshQueuePlace'
  >;
  clock: { now(): number };
  /**
   * Where slots are released (workers). Without it (a Teams turn) a slot is left to the poller's orphan sweep, which
   * frees the slot of any request that ended.
   */
  sessions?: Pick<SessionSlots, 'release'>;
  /**
   * Test-only: called after the write and before its effects; the crash tests use it to kill the process exactly
   * between the two (LR_TEST_CRASH_BEFORE_EFFECT in start-app.ts).
   */
  beforeEffects?: (effects: readonly RequestEffect[], request: LiveResponseRequest) => void;
}

async function carryOut(
  ports: EffectPorts,
  request: LiveResponseRequest,
  effect: RequestEffect,
): Promise<void> {
  const { scheduler, requests } = ports;
  switch (effect.type) {
    case 'updateCard':
      return scheduler.updateCard(request.id, effect.tag);
    case 'submit':
      return scheduler.submit(request.id);
    case 'expireAt':
      return scheduler.expireAt(request.id, Date.parse(effect.at), ports.clock.now());
    case 'fetchResult':
      return scheduler.fetchResult(request.id, effect.index);
    case 'cancelInDefender':
      return scheduler.cancel(request.id, effect.tag);
    case 'releaseSession':
      await ports.sessions?.release(request.id);
      return;
    case 'refreshQueuePositions': {
      // Everyone still waiting moved up. One coalesced background job per card (see refreshQueuePlace) keeps a long
      // line within Teams' rate: a card whose update is held back shows the place of when it is sent. Requests without
      // a card of their own (a fan-out's devices) or already on their way to Defender have no place to show.
      const queued = await requests.queuedIds();
      const waiting = await Promise.all(queued.map((id) => requests.get(id)));
      await Promise.all(
        waiting
          .filter((r): r is LiveResponseRequest => r?.state === 'Approved' && Boolean(r.card))
          .map((r) => scheduler.refreshQueuePlace(r.id)),
      );
      return;
    }
    case 'audit':
      return requests.audit(request.id, { action: effect.action, detail: effect.detail });
    case 'startFanOut':
      await startFanOut(ports, request.id, applyAndDispatch);
      return;
    case 'cancelChildren':
      await cancelChildren(ports, request.id, applyAndDispatch);
      return;
    case 'updateParentCard':
      if (request.parentId) await updateParentCard(ports, request.parentId);
      return;
    case 'finishParent':
      if (request.parentId) await finishParent(ports, request.parentId, applyAndDispatch);
      return;
  }
}

/**
 * Carries out a transition's effects, in the order the lifecycle gave them. A failure here leaves the write in place
 * and the effect undone: the caller's retry, or else the reconciler, does it again (same job ids).
 */
export async function dispatchEffects(ports: EffectPorts, result: StoreTransitionResult): Promise<void> {
  if (!result.ok || result.effects.length === 0) return;
  ports.beforeEffects?.(result.effects, result.request);
  for (const effect of result.effects) await carryOut(ports, result.request, effect);
}

/** Applies an event and carries out its effects: what flows and processors call instead of pairing them by hand. */
export async function applyAndDispatch(
  ports: EffectPorts,
  id: string,
  event: RequestEvent | ((request: LiveResponseRequest) => RequestEvent | null),
  audit?: Omit<AuditEntry, 'at' | 'requestId'>,
): Promise<StoreTransitionResult> {
  const result = await ports.requests.transition(id, event, audit);
  await dispatchEffects(ports, result);
  return result;
}

/**
 * Test-only: a hook that SIGKILLs this process right after a write whose effects include `effectType`, before any
 * of them is carried out — the crash between "approved" and "submitted" that the reconciler must repair.
 */
export function crashBeforeEffect(effectType: string): NonNullable<EffectPorts['beforeEffects']> {
  return (effects) => {
    if (effects.some((effect) => effect.type === effectType)) process.kill(process.pid, 'SIGKILL');
  };
}
