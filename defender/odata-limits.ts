// The size limits a Defender list query must stay under, and how batched queries keep to them: pack items into as
// few calls as both limits allow, and when Defender refuses a batch anyway, try each half on its own so that no item
// fails because another shared its call.
import { DefenderApiError } from './defender-errors.js';

/**
 * `$filter` goes through ASP.NET OData validation, whose `MaxNodeCount` defaults to 100 (ODataValidationSettings);
 * over it Defender answers 400 "The node count limit of '100' has been exceeded". A comparison counts 4 nodes, a
 * function call like `startswith(p,'x')` 4, an `in (...)` 4 whatever its length, `and`/`or` 1.
 */
export const MAX_FILTER_NODES = 100;

/** IIS request filtering's default `maxQueryString` (2048 bytes): a longer query string answers 414 (issue 9). */
export const MAX_QUERY_STRING_LENGTH = 2048;

/** The query string of `pathAndQuery` as fetch sends it (the URL parser writes `'` as %27 in a query). */
export function queryStringLength(pathAndQuery: string): number {
  const { search } = new URL(pathAndQuery, 'https://defender.invalid');
  return Math.max(0, search.length - 1);
}

export interface QuerySize {
  nodes: number;
  queryLength: number;
}

export interface QueryBudget {
  maxNodes: number;
  maxQueryLength: number;
}

/**
 * What the bot plans for: 94 nodes, not 100. A public ASP.NET OData service was seen taking 19 `or`-ed `eq` clauses
 * (94 nodes by the count above) and refusing 20 (99), so the validator counts a few nodes more than the clauses
 * alone; 94 is the most known to pass. A batch refused anyway is split (callInHalvesWhenRefused).
 */
export const DEFENDER_QUERY_BUDGET: QueryBudget = {
  maxNodes: 94,
  maxQueryLength: MAX_QUERY_STRING_LENGTH,
};

export function fitsBudget(size: QuerySize, budget: QueryBudget = DEFENDER_QUERY_BUDGET): boolean {
  return size.nodes <= budget.maxNodes && size.queryLength <= budget.maxQueryLength;
}

/**
 * Consecutive batches, each as large as `fits` allows (a single item always makes a batch, even one too large:
 * Defender then says so for that item alone).
 */
export function packBatches<T>(items: readonly T[], fits: (batch: T[]) => boolean): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  for (const item of items) {
    if (current.length > 0 && !fits([...current, item])) {
      batches.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Defender refused the query itself (too many nodes, too long, or otherwise not valid), not the caller's rights. */
export function isRefusedQuery(error: unknown): boolean {
  return error instanceof DefenderApiError && (error.status === 400 || error.status === 414);
}

/**
 * Calls `call` with the whole batch; when Defender refuses the query (400/414) and the batch holds more than one
 * item, calls each half in turn instead, down to single items. Results are concatenated in order. A single item
 * that is still refused throws that refusal.
 */
export async function callInHalvesWhenRefused<T, R>(
  items: readonly T[],
  call: (batch: T[]) => Promise<R[]>,
): Promise<R[]> {
  try {
    return await call([...items]);
  } catch (error) {
    if (items.length < 2 || !isRefusedQuery(error)) throw error;
    const middle = Math.ceil(items.length / 2);
    const first = await callInHalvesWhenRefused(items.slice(0, middle), call);
    const second = await callInHalvesWhenRefused(items.slice(middle), call);
    return [...first, ...second];
  }
}
