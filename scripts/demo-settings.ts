// What `npm run demo` runs with: its own ports and speed, and the bot's environment for the local stack.
// Anything the user sets in the environment wins over these defaults.

/** The on-call leads of `.m365agentsplayground.yml`; the demo approves as the first one. */
export const DEMO_APPROVERS = [
  { teamsId: '29:1alex-lead', name: 'Alex Lead', aadObjectId: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92' },
  { teamsId: '29:1sam-oncall', name: 'Sam Oncall', aadObjectId: '5e709c13-4d6f-4182-8c3e-1a2d4f6b8ca3' },
] as const;

/** The bearer token the simulator expects unless DEFENDER_ACCESS_TOKEN names another. */
export const DEMO_SIMULATOR_TOKEN = 'sim-token';

/** The Redis key prefix of the demo; a run clears it at start because the playground forgets every chat. */
export const DEMO_REDIS_PREFIX = 'lr-demo';

export interface DemoSettings {
  redisUrl: string;
  /** The bot's port (PORT). */
  botPort: number;
  /** SIM_PORT, default 4980. */
  simulatorPort: number;
  /**
   * DEMO_SPEEDUP: devices do their live response work this many times faster than Defender's usual pace.
   * Default 10: the seed scripts finish in seconds, and each state stays on the card long enough to be seen.
   */
  speedup: number;
  /** PLAYGROUND_PORT, default 56150. */
  playgroundPort: number;
  simulatorToken: string;
}

export class DemoSettingsError extends Error {
  override name = 'DemoSettingsError';
}

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = setting(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  // A fixed port: the playground and the printed instructions must know it before anything starts.
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new DemoSettingsError(`${name} must be a port number from 1 to 65535 (got "${raw}")`);
  return value;
}

export function readDemoSettings(env: NodeJS.ProcessEnv = process.env): DemoSettings {
  const speedupRaw = setting(env, 'DEMO_SPEEDUP');
  const speedup = speedupRaw === undefined ? 10 : Number(speedupRaw);
  if (!Number.isFinite(speedup) || speedup < 1)
    throw new DemoSettingsError(`DEMO_SPEEDUP must be a number of at least 1 (got "${speedupRaw}")`);
  return {
    redisUrl: setting(env, 'REDIS_URL') ?? 'redis://127.0.0.1:6379',
    botPort: port(env, 'PORT', 3978),
    simulatorPort: port(env, 'SIM_PORT', 4980),
    speedup,
    playgroundPort: port(env, 'PLAYGROUND_PORT', 56150),
    simulatorToken: setting(env, 'DEFENDER_ACCESS_TOKEN') ?? DEMO_SIMULATOR_TOKEN,
  };
}

/** The environment readConfig gets: the demo's defaults under whatever the user set (empty values count as unset). */
export function demoBotEnv(
  env: NodeJS.ProcessEnv,
  settings: DemoSettings,
  simulatorUrl: string,
): Record<string, string> {
  const defaults: Record<string, string> = {
    PORT: String(settings.botPort),
    // Result links open in a browser on this machine; the bot listens on loopback only.
    PUBLIC_BASE_URL: `http://127.0.0.1:${settings.botPort}`,
    // Anonymous: the playground is a local client without Bot Framework credentials.
    MicrosoftAppId: '',
    MicrosoftAppPassword: '',
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: DEMO_REDIS_PREFIX,
    DEFENDER_API_URL: simulatorUrl,
    DEFENDER_ACCESS_TOKEN: settings.simulatorToken,
    APPROVERS: DEMO_APPROVERS.map((approver) => approver.aadObjectId).join(','),
    POLL_INTERVAL: '2s',
    LOG_LEVEL: 'warn',
  };
  const given = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1]?.trim())),
  );
  return { ...defaults, ...given };
}
