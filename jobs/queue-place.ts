// Where an approved request stands in the line for Defender's run budget, and when it could start: what its card says
// while it waits ("3rd in line — starts about 14:05 UTC"), and the turn the submit processor waits for.
import type { RequestStore } from '../core/request-store.js';
import type { DefenderBudget } from '../defender/defender-budget.js';
import type { SessionSlots } from '../defender/session-slots.js';

export interface QueuePlace {
  /** 1-based place among the approved requests not on their way to Defender yet, in order of approval. */
  place: number;
  /** When the budget's windows let the call of this place go (ISO): the start if nothing else holds it up. */
  startsAt: string;
}

/** The request's place and estimated start, or null when it is not waiting in line. */
export type QueuePlaceOf = (requestId: string) => Promise<QueuePlace | null>;

export function createQueuePlaces(deps: {
  requests: Pick<RequestStore, 'queuedIds'>;
  budget: Pick<DefenderBudget, 'schedule'>;
  sessions: Pick<SessionSlots, 'holders'>;
}): QueuePlaceOf {
  return async (requestId) => {
    const [queued, holders] = await Promise.all([deps.requests.queuedIds(), deps.sessions.holders()]);
    const index = queued.indexOf(requestId);
    if (index < 0 || requestId in holders) return null;
    // A request ahead that holds a session is being sent now: it has taken its budget slot already (or is about to),
    // so it is out of the line, and counting it would push everyone behind one slot too late.
    const place = queued.slice(0, index).filter((id) => !(id in holders)).length + 1;
    // Everyone ahead takes the budget's next slots in turn: this request's start is the place-th of them.
    const starts = await deps.budget.schedule('run', place);
    const at = starts[place - 1];
    return at === undefined ? null : { place, startsAt: new Date(at).toISOString() };
  };
}

/** The card options of a request's place in line: with its estimated start when `queuePlace` is given. */
export async function queueCardOptions(
  requestId: string,
  requests: Pick<RequestStore, 'queuePosition'>,
  queuePlace?: QueuePlaceOf,
): Promise<{ queuePosition?: number; queueStartsAt?: string }> {
  if (queuePlace) {
    const found = await queuePlace(requestId);
    return found ? { queuePosition: found.place, queueStartsAt: found.startsAt } : {};
  }
  const position = await requests.queuePosition(requestId);
  return position ? { queuePosition: position } : {};
}
