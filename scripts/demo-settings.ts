// What `npm run demo` runs with: its own ports, speed and role, the people of the Playground's mock tenant, and the
// bot's environment for the local stack. Anything the user sets in the environment wins over these defaults.

/** Tenant of both `.m365agentsplayground*.yml` files. */
export const DEMO_TENANT_ID = 'd9a4c1e2-5b3f-4c8a-9e7d-2f1b0a3c4d5e';
/** The bot's id in the Playground's mock tenant. */
export const DEMO_BOT = { id: '28:lr-bot-local', name: 'LR Bot' } as const;

export interface DemoPerson {
  teamsId: string;
  name: string;
  aadObjectId: string;
  /** The Playground's `userPrincipleName` (sic). */
  upn: string;
}

/** Riley, the responder who asks for live response. */
export const DEMO_REQUESTER: DemoPerson = {
  teamsId: '29:1riley-analyst',
  name: 'Riley Analyst',
  aadObjectId: '3c5e7a91-2b4d-4f60-8a1c-9e0b2d4f6a81',
  upn: 'riley.analyst@contoso.com',
};

/** The on-call leads, the demo's APPROVERS; the terminal approves as the first one. */
export const DEMO_APPROVERS: readonly DemoPerson[] = [
  {
    teamsId: '29:1alex-lead',
    name: 'Alex Lead',
    aadObjectId: '4d6f8b02-3c5e-4071-9b2d-0f1c3e5a7b92',
    upn: 'alex.lead@contoso.com',
  },
  {
    teamsId: '29:1sam-oncall',
    name: 'Sam Oncall',
    aadObjectId: '5e709c13-4d6f-4182-8c3e-1a2d4f6b8ca3',
    upn: 'sam.oncall@contoso.com',
  },
];

/** Everyone in the mock tenant: the requester, the approvers and three teammates who may not approve. */
export const DEMO_PEOPLE: readonly DemoPerson[] = [
  DEMO_REQUESTER,
  ...DEMO_APPROVERS,
  {
    teamsId: '29:1morgan-helpdesk',
    name: 'Morgan Helpdesk',
    aadObjectId: '6f81ad24-5e70-4293-9d4f-2b3e5a7c9db4',
    upn: 'morgan.helpdesk@contoso.com',
  },
  {
    teamsId: '29:1casey-devops',
    name: 'Casey Devops',
    aadObjectId: '7092be35-6f81-43a4-8e5a-3c4f6b8daec5',
    upn: 'casey.devops@contoso.com',
  },
  {
    teamsId: '29:1taylor-intern',
    name: 'Taylor Intern',
    aadObjectId: '81a3cf46-7092-44b5-9f6b-4d5a7c9ebfd6',
    upn: 'taylor.intern@contoso.com',
  },
];

/** The mock tenant's conversations, as both Playground configs name them. */
export const DEMO_PLACES = {
  groupChat: { id: '19:incident-bridge-chat@thread.v2', name: 'Incident bridge' },
  team: { id: '19:soc-team-general@thread.tacv2', name: 'Security Operations' },
  channel: { id: '19:soc-incidents@thread.tacv2', name: 'Incidents' },
} as const;

/**
 * Who the Playground's page acts as. `requester`: Riley asks in the page and the terminal approves as Alex Lead.
 * `approver`: the page is Alex Lead, who clicks Approve on the card; Riley asks from the terminal (`ask …`).
 */
export type DemoRole = 'requester' | 'approver';

/** The Playground config of each role: the page always acts as its `currentUser`. */
export const PLAYGROUND_CONFIG_FILES: Record<DemoRole, string> = {
  requester: '.m365agentsplayground.yml',
  approver: '.m365agentsplayground.approver.yml',
};

/** Who the Playground's page is in each role. */
export const PLAYGROUND_USER: Record<DemoRole, DemoPerson> = {
  requester: DEMO_REQUESTER,
  approver: DEMO_APPROVERS[0]!,
};

/** The bearer token the simulator expects unless DEFENDER_ACCESS_TOKEN names another. */
export const DEMO_SIMULATOR_TOKEN = 'sim-token';

/** The Redis key prefix of the demo; a run clears it at start because the playground forgets every chat. */
export const DEMO_REDIS_PREFIX = 'lr-demo';

/**
 * The tab's Entra app id in the demo (TAB_SSO_APP_ID); the local Entra simulator signs tokens for it. Made up: it
 * names no real registration.
 */
export const DEMO_TAB_APP_ID = '0d3e5f7a-1b2c-4d6e-8f9a-2b4c6d8e0f13';

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
  /** DEMO_ROLE (`requester` or `approver`), or `--as-approver` on the command line. Default `requester`. */
  role: DemoRole;
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

function role(env: NodeJS.ProcessEnv, args: readonly string[]): DemoRole {
  const unknown = args.filter((arg) => arg !== '--as-approver');
  if (unknown.length > 0)
    throw new DemoSettingsError(
      `Unknown argument "${unknown[0]}". The demo takes one: npm run demo -- --as-approver`,
    );
  if (args.includes('--as-approver')) return 'approver';
  const raw = setting(env, 'DEMO_ROLE')?.toLowerCase() ?? 'requester';
  if (raw !== 'requester' && raw !== 'approver')
    throw new DemoSettingsError(`DEMO_ROLE must be requester or approver (got "${raw}")`);
  return raw;
}

/** `args` are the command line's (`npm run demo -- --as-approver`). */
export function readDemoSettings(
  env: NodeJS.ProcessEnv = process.env,
  args: readonly string[] = [],
): DemoSettings {
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
    role: role(env, args),
  };
}

/**
 * The environment readConfig gets: the demo's defaults under whatever the user set (empty values count as unset).
 * `entraUrl` is the local Entra simulator the tab signs in with.
 */
export function demoBotEnv(
  env: NodeJS.ProcessEnv,
  settings: DemoSettings,
  simulatorUrl: string,
  entraUrl?: string,
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
    ...(entraUrl
      ? {
          TAB_SSO_APP_ID: DEMO_TAB_APP_ID,
          TAB_SSO_AUTHORITY_HOST: entraUrl,
          TEAMS_APP_ID: DEMO_TAB_APP_ID,
          // The Playground opens card links in the browser, where a Teams deep link (sso) leads nowhere.
          DOWNLOAD_MODE: 'bearer',
        }
      : {}),
  };
  const given = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1]?.trim())),
  );
  return { ...defaults, ...given };
}
