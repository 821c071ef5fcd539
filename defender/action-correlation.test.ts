import { describe, expect, it } from 'vitest';
import { buildCorrelationTag, findCorrelatedAction } from './action-correlation.js';

describe('findCorrelatedAction', () => {
  const action = (id: string, requestorComment: string, creationDateTimeUtc: string) => ({
    id,
    requestorComment,
    creationDateTimeUtc,
  });

  it('finds the action whose comment carries the request tag, the newest if several do', () => {
    expect(buildCorrelationTag('LR-7K3F9Q')).toBe('[lr:LR-7K3F9Q]');
    const actions = [
      action('a', 'by alice [lr:LR-1] because x', '2024-05-01T10:00:00.0000000Z'),
      action('b', 'by bob [lr:LR-2]', '2024-05-01T10:01:00.0000000Z'),
      action('c', '[lr:LR-1] retry', '2024-05-01T10:02:00.0000000Z'),
    ];
    expect(findCorrelatedAction(actions, 'LR-1')?.id).toBe('c');
    expect(findCorrelatedAction(actions, 'LR-2')?.id).toBe('b');
    expect(findCorrelatedAction(actions, 'LR-')).toBeUndefined();
    expect(findCorrelatedAction(actions, 'LR-3')).toBeUndefined();
  });
});
