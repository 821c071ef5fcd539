// The benchmark's scenario in one place: the burst, Defender's real limits, the compressed clock and the targets.
import { DEFAULT_LIMITS } from '../simulator/defender-simulator.js';
import { type SimMachine, workstation } from '../simulator/seed-data.js';
import { DEFAULT_TIMINGS } from '../simulator/simulated-tenant.js';

/** Simulated ms per real ms: Defender's minute lasts 3 s. */
export const SPEED = 20;

export const REQUESTS = 100;

/**
 * Before the burst, requests arriving one at a time at a steady rate well under Teams' 50 requests per second per
 * app (each card rejected on arrival, so nothing reaches a device): the latency a requester and an approver see
 * when the bot is not queueing behind Teams' limit.
 */
export const PACED_REQUESTS = 50;
export const PACED_PER_SECOND = 10;
export const CHANNELS = 20;
export const THREADS_PER_CHANNEL = 5;

/** minidump.ps1's duration in the simulator's seed behaviours (simulated ms). */
export const MINIDUMP_MS = 45_000;
/** One action: pickup, then RunScript minidump, then GetFile (simulated ms). */
export const ACTION_MS = DEFAULT_TIMINGS.pickupDelayMs + MINIDUMP_MS + DEFAULT_TIMINGS.getFileMs;

/** The bot's poll interval in Defender's time (the shipped default), and what it is in the benchmark. */
export const POLL_INTERVAL_SIM_MS = 5_000;
export const POLL_INTERVAL_MS = POLL_INTERVAL_SIM_MS / SPEED;

/** The naive client polls each action every 10 s of Defender's time. */
export const NAIVE_POLL_SIM_MS = 10_000;

export const LIMITS = DEFAULT_LIMITS;

export const TARGETS = {
  makespanRatio: 1.1,
  defenderCallsPerRequest: 4,
  teams429s: 0,
  approvalCardP99Ms: 250,
  invokeP99Ms: 250,
  /**
   * Poll interval + 1 s: the interval is Defender's time and compressed with it; the second is the bot's own work
   * (Redis, the card job, rendering, the Teams update), which runs in real time.
   */
  completionToCardP95Ms: POLL_INTERVAL_MS + 1_000,
  /** The same with the second compressed too (50 ms for all of the bot's work), reported for comparison. */
  completionToCardScaledP95Ms: (POLL_INTERVAL_SIM_MS + 1_000) / SPEED,
} as const;

export function deviceName(index: number): string {
  return `bench-ws-${String(index + 1).padStart(3, '0')}`;
}

/** Teams' limit per bot app per tenant, over every conversation. */
export const TEAMS_APP_PER_SECOND = 50;

export function requestText(index: number): string {
  return `run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on ${deviceName(index)}`;
}

/** The burst's devices: Windows workstations, online, in a device group that allows live response. */
export function benchMachines(now: number): SimMachine[] {
  return Array.from({ length: REQUESTS }, (_, index) => ({
    ...workstation(deviceName(index)),
    lastSeen: new Date(now).toISOString(),
  }));
}

/** A `count/duration` rate divided by SPEED, in whole milliseconds (the bot's durations are integers). */
export function scaledRate(limit: number, windowMs: number): string {
  return `${limit}/${Math.round(windowMs / SPEED)}ms`;
}

/** The bot's environment: the same limits as the simulator, on the compressed clock. */
export function botLimitsEnv(): Record<string, string> {
  return {
    DEFENDER_RUN_RATE: scaledRate(LIMITS.run.limit, LIMITS.run.windowMs),
    DEFENDER_API_RATE: LIMITS.api.map((w) => scaledRate(w.limit, w.windowMs)).join(','),
    DEFENDER_MAX_SESSIONS: String(LIMITS.maxSessions),
    POLL_INTERVAL: `${POLL_INTERVAL_MS}ms`,
  };
}
