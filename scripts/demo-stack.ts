// Starts what `npm run demo` runs, in order: the Defender simulator, the local Entra simulator (the tab's sign-in),
// the bot with the tab and its local Teams host page, and the Microsoft 365 Agents Playground as the Teams client.
// demo.ts adds the terminal around it; test/demo-playground.test.ts drives the same stack in Chromium.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, readConfig } from '../app/config.js';
import { type RunningApp, type StartOptions, startApp } from '../app/start-app.js';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { type EntraSimulator, startEntraSimulator } from '../simulator/entra-simulator.js';
import { type LocalHostSettings, renderLocalHostPage } from '../simulator/teams-host-page.js';
import { buildTab, TAB_OUT_DIR } from '../tab/build-tab.js';
import { demoPace } from './demo-pace.js';
import {
  DEMO_PEOPLE,
  DEMO_PLACES,
  DEMO_TENANT_ID,
  type DemoSettings,
  demoBotEnv,
  PLAYGROUND_CONFIG_FILES,
  PLAYGROUND_USER,
} from './demo-settings.js';
import { type RunningPlayground, startPlayground } from './start-playground.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A failure the person running the demo can fix, worded as what to do. */
export class DemoError extends Error {
  override name = 'DemoError';
}

export interface DemoStack {
  config: Config;
  simulator: DefenderSimulator;
  entra: EntraSimulator;
  app: RunningApp;
  playground: RunningPlayground;
  /** The Playground's page, e.g. http://localhost:56150. */
  playgroundUrl: string;
  /** The tab in the local Teams host page, e.g. http://127.0.0.1:3978/tab/local-host. */
  tabUrl: string;
  /** Stops everything started, newest first; safe to call twice. */
  close(): Promise<void>;
}

export interface DemoStackOptions {
  settings: DemoSettings;
  /** The user's environment; what it sets wins over the demo's defaults (see demoBotEnv). */
  env: NodeJS.ProcessEnv;
  logger: StartOptions['logger'];
  /** Runs once the configuration is read, before the bot starts (the demo clears its previous run's keys). */
  beforeBot?: (config: Config) => Promise<void>;
  /** Told before the tab bundle is built (it takes a few seconds, once). */
  onBuildingTab?: () => void;
  /** Called if the Playground exits while the demo still needs it. */
  onPlaygroundExit?: (code: number | null, signal: NodeJS.Signals | null, output: string) => void;
}

/**
 * The local host page's people and places: the Playground's mock tenant, so the tab shows the same requests as
 * the chats. Its tokens are for `api://<bot's public host>/<TAB_SSO_APP_ID>`, the audience the bot verifies.
 */
export function demoTabHostSettings(config: Config, entraUrl: string): LocalHostSettings {
  const host = new URL(config.publicBaseUrl).host;
  return {
    entraUrl,
    audience: `api://${host}/${config.tab.ssoAppId}`,
    people: DEMO_PEOPLE.map((person) => ({
      key: person.teamsId.slice(4),
      name: person.name,
      aadObjectId: person.aadObjectId,
      upn: person.upn,
      tenantId: DEMO_TENANT_ID,
    })),
    places: [
      {
        key: 'bridge',
        label: `${DEMO_PLACES.groupChat.name} (group chat)`,
        kind: 'chat',
        conversationId: DEMO_PLACES.groupChat.id,
      },
      {
        key: 'incidents',
        label: `${DEMO_PLACES.team.name} › ${DEMO_PLACES.channel.name}`,
        kind: 'channel',
        conversationId: DEMO_PLACES.channel.id,
        teamId: DEMO_PLACES.team.id,
      },
      { key: 'mine', label: 'My requests (personal)', kind: 'personal' },
    ],
  };
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const { settings, logger } = options;
  const closers: Array<() => Promise<void>> = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };

  try {
    const simulator = await startDefenderSimulator({
      port: settings.simulatorPort,
      host: '127.0.0.1',
      accessToken: settings.simulatorToken,
      // Real time, with the devices' work shortened instead: a faster simulated clock would put Defender's
      // timestamps and link expiry (`se`) ahead of the bot's, and links would die long before their stated time.
      speed: 1,
      ...demoPace(settings.speedup),
    }).catch((error: unknown) => {
      throw new DemoError(
        `The Defender simulator could not listen on port ${settings.simulatorPort} (${String(error)}). ` +
          'Set SIM_PORT to a free port.',
      );
    });
    closers.push(() => simulator.close());

    // Any free port: the host page is told where it is, and the bot reads its keys from it.
    const entra = await startEntraSimulator();
    closers.push(() => entra.close());

    let config: Config;
    try {
      config = readConfig(demoBotEnv(options.env, settings, simulator.url, entra.url));
    } catch (error) {
      if (error instanceof ConfigError)
        throw new DemoError(`${error.message}\n\nSee .env.example for every setting.`);
      throw error;
    }

    await options.beforeBot?.(config);
    if (!existsSync(join(TAB_OUT_DIR, 'assets', 'tab.js'))) {
      options.onBuildingTab?.();
      await buildTab();
    }

    const hostSettings = demoTabHostSettings(config, entra.url);
    let app: RunningApp;
    try {
      // Loopback only: in the demo the bot is anonymous (no Bot Framework authentication).
      app = await startApp(config, {
        http: true,
        workers: true,
        logger,
        host: '127.0.0.1',
        localTabHost: (req) => renderLocalHostPage(hostSettings, req.query as Record<string, unknown>),
      });
    } catch (error) {
      throw new DemoError(
        `The bot could not start on port ${config.port} (${String(error)}). Set PORT to a free port.`,
      );
    }
    closers.push(() => app.close());

    let playground: RunningPlayground;
    try {
      playground = await startPlayground({
        port: settings.playgroundPort,
        botEndpoint: `http://127.0.0.1:${app.port}/api/messages`,
        configPath: join(REPO_ROOT, PLAYGROUND_CONFIG_FILES[settings.role]),
        cwd: REPO_ROOT,
        ...(options.onPlaygroundExit ? { onUnexpectedExit: options.onPlaygroundExit } : {}),
      });
    } catch (error) {
      throw new DemoError(error instanceof Error ? error.message : String(error));
    }
    closers.push(() => playground.stop());

    const me = PLAYGROUND_USER[settings.role].teamsId.slice(4);
    return {
      config,
      simulator,
      entra,
      app,
      playground,
      playgroundUrl: playground.url,
      tabUrl: `http://127.0.0.1:${app.port}/tab/local-host?as=${me}&where=bridge`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
