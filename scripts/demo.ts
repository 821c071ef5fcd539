// `npm run demo`: the whole bot on this machine in one command. The Defender simulator and the bot run in this
// process against local Redis, the Microsoft 365 Agents Playground runs as a child process as the Teams client,
// and this terminal plays the on-call lead: `approve` clicks the card's button as Alex Lead through the
// playground's own API, so the bot receives the click exactly as it would from Teams.
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { type Config, ConfigError, readConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { type RunningApp, startApp } from '../app/start-app.js';
import { systemClock } from '../core/clock.js';
import { type RedisKeys, redisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest, RequestState } from '../core/request.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { createSeedLibrary } from '../simulator/seed-data.js';
import { DEMO_COMMAND_HELP, type DemoCommand, parseDemoCommand } from './demo-command.js';
import { demoPace } from './demo-pace.js';
import {
  cardActionInvoke,
  type DemoDecision,
  describeInvokeAnswer,
  describeRequest,
  pickRequest,
  progressReport,
} from './demo-requests.js';
import {
  DEMO_APPROVERS,
  DEMO_REDIS_PREFIX,
  type DemoSettings,
  DemoSettingsError,
  demoBotEnv,
  readDemoSettings,
} from './demo-settings.js';
import { type RunningPlayground, startPlayground } from './start-playground.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PLAYGROUND_CONFIG = join(REPO_ROOT, '.m365agentsplayground.yml');
/** The terminal decides as the first on-call lead of the mock tenant. */
const APPROVER = DEMO_APPROVERS[0];
/** How often the terminal reports request state changes. */
const PROGRESS_EVERY_MS = 1_000;
/** The playground answers an invoke once the bot has; the bot answers clicks well under Teams' ~10 s. */
const INVOKE_TIMEOUT_MS = 15_000;

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

class DemoError extends Error {
  override name = 'DemoError';
}

/** Fails with the commands that start a Redis when none answers at `url`. */
async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The connection error says why (ECONNREFUSED, ENOTFOUND…); the rejected connect() only says it closed.
  let cause = '';
  redis.on('error', (error: Error) => {
    cause ||= error.message;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new DemoError(
      [
        `Redis does not answer at ${url} (${cause || (error instanceof Error ? error.message : String(error))}).`,
        'The bot keeps its requests and jobs in Redis. Start one, then run `npm run demo` again:',
        '',
        '  sudo apt-get install -y redis-server && redis-server --daemonize yes   # Debian/Ubuntu',
        '  brew install redis && brew services start redis                       # macOS',
        '  docker run --rm -d -p 6379:6379 redis:7                               # any OS with Docker',
        '',
        'Or point the demo at another one: REDIS_URL=redis://host:6379 npm run demo',
      ].join('\n'),
    );
  } finally {
    redis.disconnect();
  }
}

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const answer = (inUse: boolean) => () => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(1_000);
    socket.once('connect', answer(true));
    socket.once('timeout', answer(false));
    socket.once('error', answer(false));
  });
}

/**
 * Fails before anything starts (or the previous run's keys are cleared) when a port is taken, most likely by a
 * demo still running in another terminal.
 */
async function checkPortsFree(settings: DemoSettings): Promise<void> {
  const ports: Array<[string, number]> = [
    ['PORT', settings.botPort],
    ['SIM_PORT', settings.simulatorPort],
    ['PLAYGROUND_PORT', settings.playgroundPort],
  ];
  for (const [name, port] of ports)
    if (await listening(port))
      throw new DemoError(
        `Port ${port} is already in use (is another \`npm run demo\` running?). Stop it, or set ${name} to a free port.`,
      );
}

/**
 * The playground keeps its chats in memory, so the previous run's cards are gone: its requests and jobs would
 * only fail against them. Cleared only under the demo's own prefix, never a prefix the user chose.
 */
async function clearPreviousRun(redis: Redis, prefix: string): Promise<number> {
  if (prefix !== DEMO_REDIS_PREFIX) return 0;
  let cleared = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) cleared += await redis.unlink(...keys);
  } while (cursor !== '0');
  return cleared;
}

async function listRequests(
  redis: Redis,
  keys: RedisKeys,
  store: RequestStore,
): Promise<LiveResponseRequest[]> {
  const keyPrefix = keys.request('');
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.request('*'), 'COUNT', 500);
    cursor = next;
    ids.push(...found.map((key) => key.slice(keyPrefix.length)));
  } while (cursor !== '0');
  const requests = await Promise.all(ids.map((id) => store.get(id)));
  return requests.filter((request): request is LiveResponseRequest => request !== null);
}

function readDemoConfig(env: Record<string, string>): Config {
  try {
    return readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new DemoError(`${error.message}\n\nSee .env.example for every setting.`);
    throw error;
  }
}

function printWelcome(settings: DemoSettings, config: Config, simulator: DefenderSimulator): void {
  const shortName = (fqdn: string): string => fqdn.split('.')[0] ?? fqdn;
  const allRecords = simulator.control.machines();
  // A re-imaged device keeps older records under its name: one line per name, the Active record's facts.
  const recordsOf = new Map<string, typeof allRecords>();
  for (const record of allRecords) {
    const name = record.computerDnsName.toLowerCase();
    recordsOf.set(name, [...(recordsOf.get(name) ?? []), record]);
  }
  const machines = [...recordsOf.values()].map(
    (records) => records.find((r) => r.healthStatus === 'Active') ?? records[0]!,
  );
  const shortNameCount = new Map<string, number>();
  for (const machine of machines) {
    const name = shortName(machine.computerDnsName);
    shortNameCount.set(name, (shortNameCount.get(name) ?? 0) + 1);
  }
  const deviceLines = machines.map((machine) => {
    const older = (recordsOf.get(machine.computerDnsName.toLowerCase())?.length ?? 1) - 1;
    const notes = [
      machine.online === false ? 'offline: the action stays Pending (type `cancel LR-…` in the chat)' : '',
      machine.disallowed ? 'no automation level: Defender refuses live response (403)' : '',
      (shortNameCount.get(shortName(machine.computerDnsName)) ?? 0) > 1
        ? 'short name shared by two devices: the bot asks which one'
        : '',
      older > 0
        ? `re-imaged: ${older} older Inactive record${older === 1 ? '' : 's'} of this name; the bot uses the Active one and says so on the card`
        : '',
      machine.osPlatform === 'Linux' || machine.osPlatform === 'macOS'
        ? 'paths like /var/log/syslog, .sh scripts'
        : '',
    ].filter(Boolean);
    return `  ${machine.computerDnsName.padEnd(30)} ${machine.osPlatform ?? ''}${notes.length ? ` — ${notes.join('; ')}` : ''}`;
  });
  const scriptLines = createSeedLibrary().map(
    (file) => `  ${file.fileName.padEnd(16)} ${file.description ?? ''}`,
  );
  const playgroundUrl = `http://localhost:${settings.playgroundPort}`;

  say();
  say(bold('LR Bot demo is running'));
  say(`  Teams client   ${playgroundUrl}   (Microsoft 365 Agents Playground, offline)`);
  say(`  Bot            http://127.0.0.1:${config.port}/api/messages   (anonymous, local only)`);
  say(`  Defender       ${simulator.url}   (simulator; devices work ${settings.speedup}x faster than usual)`);
  say(`  Redis          ${config.redis.url}   (prefix ${config.redis.prefix})`);
  say();
  say(bold('1. Ask for live response as Riley Analyst (the playground user, a responder)'));
  say(
    `   Open ${playgroundUrl}, open the "Incident bridge" group chat (or the "Incidents" channel), type @LR,`,
  );
  say('   pick "LR Bot" from the list, then finish the message and send it:');
  say('     @LR Bot run minidump.ps1 OfficeClickToRun on desktop-test');
  say('   The bot checks the device and the library and posts an approval card that mentions the approvers.');
  say('   (The 1:1 "Personal Chat" works too, but no approver is in it, so the bot says to ask elsewhere.)');
  say();
  say(bold(`2. Approve as ${APPROVER.name}, the on-call lead, from this terminal`));
  say(
    '   Type "approve" here (or "reject <reason>"). The card says "Approved by Alex Lead at … — queued", then its',
  );
  say(
    '   badge shows Pending → Running → Succeeded and the command Completed, with the script output, in place.',
  );
  say(
    '   The card shows Approve, Reject and Cancel to everyone (as Teams does); a click by Riley in the page is',
  );
  say("   refused with Riley's own view saying why. This terminal clicks for the on-call lead through the");
  say('   playground, so the bot gets the click as it would from Teams.');
  say('   Keep the page open: a reloaded page or a second tab starts empty, though the chats carry on.');
  say();
  say(bold('Devices'));
  for (const line of deviceLines) say(line);
  say(bold('Library scripts'));
  for (const line of scriptLines) say(line);
  say(bold('More to try in the chat'));
  say('  help · scripts · status · run fail.ps1 on desktop-test · run crash.ps1 on desktop-test');
  say('  run whoami.ps1 on laptop-offline · run whoami.ps1 on kiosk-nogroup · run whoami.ps1 on web01');
  say(
    '  run whoami.ps1 on fin-laptop07 · getfile /var/log/syslog from linux-web02 · run collect-logs.sh on mac-design01',
  );
  say(
    '  run minidump.ps1 OfficeClickToRun then getfile C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip on desktop-test',
  );
  say(bold('Terminal commands'));
  say(DEMO_COMMAND_HELP);
  say();
}

async function sendDecision(
  playgroundPort: number,
  requests: LiveResponseRequest[],
  requestId: string | undefined,
  decision: DemoDecision,
): Promise<string> {
  const picked = pickRequest(requests, DEMO_APPROVERS, requestId);
  if (!picked.ok) return picked.message;
  const body = cardActionInvoke(picked.request, picked.approver.teamsId, decision);
  const action = decision.verb === 'approve' ? 'Approving' : 'Rejecting';
  say(`${action} ${picked.request.id} as ${picked.approver.name}…`);
  const response = await fetch(`http://127.0.0.1:${playgroundPort}/_conversation/v1/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok)
    return `The playground refused the click (HTTP ${response.status}): ${text.slice(0, 500)}`;
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // Not JSON: shown as is.
  }
  return `${picked.request.id}: ${describeInvokeAnswer(answer)}`;
}

async function main(): Promise<void> {
  const settings = readDemoSettings(process.env);
  await checkRedis(settings.redisUrl);
  await checkPortsFree(settings);

  const cleanups: Array<() => Promise<void>> = [];
  let shuttingDown = false;
  const shutdown = async (code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    say('\nStopping the demo…');
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => say(`  (while stopping: ${String(error)})`));
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

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
    cleanups.push(() => simulator.close());

    const config = readDemoConfig(demoBotEnv(process.env, settings, simulator.url));
    const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined);
    cleanups.push(async () => redis.disconnect());
    const cleared = await clearPreviousRun(redis, config.redis.prefix);
    if (cleared > 0)
      say(`Cleared ${cleared} Redis keys left by a previous demo (prefix ${config.redis.prefix}).`);

    const logger = createLogger(config.logLevel, process.stderr);
    let app: RunningApp;
    try {
      // Loopback only: in the demo the bot is anonymous (no Bot Framework authentication).
      app = await startApp(config, { http: true, workers: true, logger, host: '127.0.0.1' });
    } catch (error) {
      throw new DemoError(
        `The bot could not start on port ${config.port} (${String(error)}). Set PORT to a free port.`,
      );
    }
    cleanups.push(() => app.close());

    let playground: RunningPlayground;
    try {
      playground = await startPlayground({
        port: settings.playgroundPort,
        botEndpoint: `http://127.0.0.1:${app.port}/api/messages`,
        configPath: PLAYGROUND_CONFIG,
        cwd: REPO_ROOT,
        onUnexpectedExit: (code, signal, output) => {
          if (shuttingDown) return;
          say(`\nThe agents playground stopped (code ${code ?? signal}):\n${output.trim()}`);
          void shutdown(1);
        },
      });
    } catch (error) {
      throw new DemoError(error instanceof Error ? error.message : String(error));
    }
    cleanups.push(() => playground.stop());

    const keys = redisKeys(config.redis.prefix);
    const store = createRequestStore({ redis, keys, clock: systemClock });
    printWelcome(settings, config, simulator);

    // Reports request states as they change, so the terminal follows the card.
    let seen = new Map<string, RequestState>();
    const report = async (): Promise<void> => {
      if (shuttingDown) return;
      try {
        const result = progressReport(seen, await listRequests(redis, keys, store), DEMO_APPROVERS);
        seen = result.seen;
        for (const line of result.lines) say(line);
      } catch (error) {
        say(`(could not read requests from Redis: ${String(error)})`);
      }
      if (!shuttingDown) setTimeout(() => void report(), PROGRESS_EVERY_MS).unref();
    };
    void report();

    const run = async (command: DemoCommand): Promise<void> => {
      switch (command.kind) {
        case 'empty':
          return;
        case 'help':
          say(DEMO_COMMAND_HELP);
          return;
        case 'quit':
          await shutdown(0);
          return;
        case 'unknown':
          say(`Unknown command "${command.text}". Try:\n${DEMO_COMMAND_HELP}`);
          return;
        case 'list': {
          const requests = await listRequests(redis, keys, store);
          if (requests.length === 0) say('No requests yet.');
          for (const request of requests.sort((a, b) => a.createdAt.localeCompare(b.createdAt)))
            say(describeRequest(request));
          return;
        }
        case 'approve':
        case 'reject': {
          const decision: DemoDecision =
            command.kind === 'approve'
              ? { verb: 'approve' }
              : { verb: 'reject', ...(command.reason ? { reason: command.reason } : {}) };
          say(
            await sendDecision(
              settings.playgroundPort,
              await listRequests(redis, keys, store),
              command.requestId,
              decision,
            ),
          );
          return;
        }
      }
    };

    const lines = createInterface({ input: process.stdin });
    // In a terminal readline may take Ctrl-C itself; it must still stop everything.
    lines.on('SIGINT', () => void shutdown(0));
    lines.on('line', (line) => {
      run(parseDemoCommand(line)).catch((error: unknown) =>
        say(`That did not work: ${error instanceof Error ? error.message : String(error)}`),
      );
    });
    lines.on('close', () => {
      if (!shuttingDown) say('(The terminal input closed; press Ctrl-C to stop the demo.)');
    });
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    await shutdown(1);
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof DemoError || error instanceof DemoSettingsError
      ? error.message
      : `The demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
