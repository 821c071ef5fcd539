import { describe, expect, it } from 'vitest';
import {
  computeActionProgress,
  type PlannedCommand,
  type SimAction,
  toDefenderTime,
} from './action-progress.js';

const timings = { pickupDelayMs: 5_000, runScriptTimeoutMs: 600_000 };
const T0 = Date.parse('2024-05-01T10:00:00Z');

function command(overrides: Partial<PlannedCommand> = {}): PlannedCommand {
  return {
    command: { type: 'RunScript', params: [{ key: 'ScriptName', value: 'whoami.ps1' }] },
    durationMs: 10_000,
    outcome: 'Completed',
    errors: [],
    timesOut: false,
    ...overrides,
  };
}

function action(commands: PlannedCommand[], availableAt: number | null = T0): SimAction {
  return {
    id: 'a',
    machineId: 'm',
    computerDnsName: 'd',
    requestor: 'r',
    requestorComment: '',
    createdAt: T0,
    availableAt,
    commands,
  };
}

describe('computeActionProgress', () => {
  it('runs commands in order after the pickup delay and succeeds', () => {
    const a = action([command(), command()]);
    expect(computeActionProgress(a, T0 + 4_999, timings).status).toBe('Pending');
    const first = computeActionProgress(a, T0 + 6_000, timings);
    expect(first.status).toBe('InProgress');
    expect(first.commands.map((c) => c.status)).toEqual(['InProgress', 'Created']);
    const second = computeActionProgress(a, T0 + 16_000, timings);
    expect(second.commands.map((c) => c.status)).toEqual(['Completed', 'InProgress']);
    expect(second.commands[0]).toMatchObject({ startTime: T0 + 5_000, endTime: T0 + 15_000 });
    const done = computeActionProgress(a, T0 + 60_000, timings);
    expect(done.status).toBe('Succeeded');
    expect(done.lastUpdate).toBe(T0 + 25_000);
  });

  it('leaves the commands after a failure as Created and fails the action', () => {
    const a = action([command({ outcome: 'Failed', errors: ['boom'] }), command()]);
    const p = computeActionProgress(a, T0 + 60_000, timings);
    expect(p.status).toBe('Failed');
    expect(p.commands.map((c) => c.status)).toEqual(['Failed', 'Created']);
    expect(p.commands[0]!.errors).toEqual(['boom']);
  });

  it('times out a RunScript that runs past the limit', () => {
    const a = action([command({ durationMs: 900_000, timesOut: true }), command()]);
    expect(computeActionProgress(a, T0 + 5_000 + 599_999, timings).status).toBe('InProgress');
    const p = computeActionProgress(a, T0 + 5_000 + 600_000, timings);
    expect(p.status).toBe('TimeOut');
    expect(p.commands.map((c) => c.status)).toEqual(['Failed', 'Created']);
  });

  it('stays Pending while the device is offline, and times out after the queue limit when one is set', () => {
    const a = action([command()], null);
    expect(computeActionProgress(a, T0 + 3 * 86_400_000, timings).status).toBe('Pending');
    expect(computeActionProgress(a, T0 + 7_200_000, { ...timings, offlineQueueMs: 7_200_000 }).status).toBe(
      'TimeOut',
    );
  });

  it('freezes at cancellation and stops the running command', () => {
    const a = action([command(), command()]);
    a.cancellation = { at: T0 + 8_000, requestor: 'x', comment: 'stop' };
    const p = computeActionProgress(a, T0 + 60_000, timings);
    expect(p.status).toBe('Cancelled');
    expect(p.commands.map((c) => c.status)).toEqual(['Failed', 'Created']);
    expect(p.lastUpdate).toBe(T0 + 8_000);
  });

  it('writes timestamps with seven fractional digits like Defender', () => {
    expect(toDefenderTime(Date.parse('2021-02-04T15:36:52.778Z'))).toBe('2021-02-04T15:36:52.7780000Z');
  });
});
