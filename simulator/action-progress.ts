// How a simulated live response action progresses, computed from timestamps alone: the same action read at the
// same simulated time always looks the same, and no timers are needed (tests jump the clock instead of sleeping).
import type { ActionStatus, CommandStatus, MachineAction, WireCommand } from '../defender/types.js';

/** A command as planned when the action was created: how long it runs and how it ends. */
export interface PlannedCommand {
  command: WireCommand;
  /** Simulated ms. */
  durationMs: number;
  outcome: 'Completed' | 'Failed';
  /** `errors[]` of the command when it fails. */
  errors: string[];
  /** A RunScript that would run past the RunScript timeout. */
  timesOut: boolean;
}

export interface SimAction {
  id: string;
  machineId: string;
  computerDnsName: string;
  requestor: string;
  requestorComment: string;
  /** Simulated epoch ms. */
  createdAt: number;
  /** Since when the device has been available to pick this action up; null while it is offline. */
  availableAt: number | null;
  commands: PlannedCommand[];
  cancellation?: { at: number; requestor: string; comment: string };
}

export interface ProgressTimings {
  /** Between the device being available and the action going InProgress. */
  pickupDelayMs: number;
  /** RunScript's limit (Defender: 10 minutes). */
  runScriptTimeoutMs: number;
  /** A Pending action whose device never shows up ends `TimeOut` after this long; undefined = stays Pending. */
  offlineQueueMs?: number;
}

export interface CommandProgress {
  status: CommandStatus;
  startTime: number | null;
  endTime: number | null;
  errors: string[];
}

export interface ActionProgress {
  status: ActionStatus;
  lastUpdate: number;
  commands: CommandProgress[];
  /** When the action ends (or ended); null while that depends on an offline device. */
  endsAt: number | null;
}

export const FINAL_STATUSES: readonly ActionStatus[] = ['Succeeded', 'Failed', 'TimeOut', 'Cancelled'];

export const TIMEOUT_ERROR = 'Script execution timed out (RunScript is limited to 10 minutes)';
export const CANCELLED_ERROR = 'The command was cancelled before it finished';

interface ScheduledCommand {
  start: number;
  end: number;
  outcome: 'Completed' | 'Failed';
  errors: string[];
}

/** Commands run in order from pickup; the first failure (or timeout) ends the action and later ones never start. */
function schedule(
  commands: readonly PlannedCommand[],
  pickupAt: number,
  timeoutMs: number,
): { scheduled: ScheduledCommand[]; finalStatus: ActionStatus; finalAt: number } {
  const scheduled: ScheduledCommand[] = [];
  let t = pickupAt;
  for (const planned of commands) {
    if (planned.timesOut) {
      scheduled.push({ start: t, end: t + timeoutMs, outcome: 'Failed', errors: [TIMEOUT_ERROR] });
      return { scheduled, finalStatus: 'TimeOut', finalAt: t + timeoutMs };
    }
    const end = t + planned.durationMs;
    scheduled.push({
      start: t,
      end,
      outcome: planned.outcome,
      errors: planned.outcome === 'Failed' ? planned.errors : [],
    });
    if (planned.outcome === 'Failed') return { scheduled, finalStatus: 'Failed', finalAt: end };
    t = end;
  }
  return { scheduled, finalStatus: 'Succeeded', finalAt: t };
}

export function computeActionProgress(
  action: SimAction,
  now: number,
  timings: ProgressTimings,
): ActionProgress {
  const cancelAt = action.cancellation && action.cancellation.at <= now ? action.cancellation.at : undefined;
  const cut = cancelAt ?? now;
  const expiresAt =
    timings.offlineQueueMs === undefined
      ? Number.POSITIVE_INFINITY
      : action.createdAt + timings.offlineQueueMs;
  const pickupAt = action.availableAt === null ? null : action.availableAt + timings.pickupDelayMs;
  const notStarted = (): CommandProgress[] =>
    action.commands.map(() => ({ status: 'Created', startTime: null, endTime: null, errors: [] }));

  if (pickupAt === null || pickupAt > cut || pickupAt > expiresAt) {
    if (cancelAt !== undefined) {
      return { status: 'Cancelled', lastUpdate: cancelAt, commands: notStarted(), endsAt: cancelAt };
    }
    if (now >= expiresAt) {
      return { status: 'TimeOut', lastUpdate: expiresAt, commands: notStarted(), endsAt: expiresAt };
    }
    const endsAt =
      pickupAt !== null && pickupAt <= expiresAt
        ? schedule(action.commands, pickupAt, timings.runScriptTimeoutMs).finalAt
        : Number.isFinite(expiresAt)
          ? expiresAt
          : null;
    return { status: 'Pending', lastUpdate: action.createdAt, commands: notStarted(), endsAt };
  }

  const { scheduled, finalStatus, finalAt } = schedule(action.commands, pickupAt, timings.runScriptTimeoutMs);
  let lastUpdate = Math.max(action.createdAt, pickupAt);
  const commands = action.commands.map((_, i): CommandProgress => {
    const s = scheduled[i];
    if (!s || cut < s.start) return { status: 'Created', startTime: null, endTime: null, errors: [] };
    lastUpdate = Math.max(lastUpdate, s.start);
    if (cut < s.end) return { status: 'InProgress', startTime: s.start, endTime: null, errors: [] };
    lastUpdate = Math.max(lastUpdate, s.end);
    return { status: s.outcome, startTime: s.start, endTime: s.end, errors: s.errors };
  });
  const statusAtCut: ActionStatus = cut < finalAt ? 'InProgress' : finalStatus;

  if (cancelAt !== undefined && !FINAL_STATUSES.includes(statusAtCut)) {
    // Cancelling stops the running command; what already finished keeps its result.
    const stopped = commands.map(
      (c): CommandProgress =>
        c.status === 'InProgress'
          ? { ...c, status: 'Failed', endTime: cancelAt, errors: [CANCELLED_ERROR] }
          : c,
    );
    return { status: 'Cancelled', lastUpdate: cancelAt, commands: stopped, endsAt: cancelAt };
  }
  return { status: statusAtCut, lastUpdate, commands, endsAt: finalAt };
}

/** Defender writes timestamps with seven fractional digits (`2021-02-04T15:36:52.7788848Z`); so does the simulator. */
export function toDefenderTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

export type LastUpdateFields = 'new' | 'old' | 'both';

/** The wire shape of an action, as GET machineactions returns it. */
export function renderMachineAction(
  action: SimAction,
  progress: ActionProgress,
  lastUpdateFields: LastUpdateFields,
): MachineAction & Record<string, unknown> {
  const lastUpdate = toDefenderTime(progress.lastUpdate);
  return {
    id: action.id,
    type: 'LiveResponse',
    requestor: action.requestor,
    requestorComment: action.requestorComment,
    status: progress.status,
    machineId: action.machineId,
    computerDnsName: action.computerDnsName,
    creationDateTimeUtc: toDefenderTime(action.createdAt),
    ...(lastUpdateFields !== 'old' ? { lastUpdateDateTimeUtc: lastUpdate } : {}),
    ...(lastUpdateFields !== 'new' ? { lastUpdateTimeUtc: lastUpdate } : {}),
    cancellationRequestor: progress.status === 'Cancelled' ? (action.cancellation?.requestor ?? null) : null,
    cancellationComment: progress.status === 'Cancelled' ? (action.cancellation?.comment ?? null) : null,
    cancellationDateTimeUtc:
      progress.status === 'Cancelled' && action.cancellation ? toDefenderTime(action.cancellation.at) : null,
    errorHResult: 0,
    scope: null,
    externalId: null,
    requestSource: 'PublicApi',
    relatedFileInfo: null,
    troubleshootInfo: null,
    commands: action.commands.map((planned, index) => {
      const c = progress.commands[index]!;
      return {
        index,
        startTime: c.startTime === null ? null : toDefenderTime(c.startTime),
        endTime: c.endTime === null ? null : toDefenderTime(c.endTime),
        commandStatus: c.status,
        errors: c.errors,
        command: planned.command,
      };
    }),
  };
}
