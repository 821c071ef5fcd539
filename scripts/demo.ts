// `npm run demo`: the whole bot on this machine in one command. The Defender simulator, the local Entra simulator
// and the bot (with its Teams tab in a local host page) run in this process against local Redis, the Microsoft 365
// Agents Playground runs as a child process as the Teams client, and this terminal plays whoever the page is not:
// by default the page is Riley, the responder, and `approve` clicks the card's button as Alex Lead through the
// playground's own API; with `--as-approver` the page is Alex Lead and `ask` sends Riley's request.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createLogger } from '../app/logger.js';
import { stateBadgeText } from '../cards/request-card.js';
import { systemClock } from '../core/clock.js';
import { type RedisKeys, redisKeys } from '../core/redis-keys.js';
import type { LiveResponseRequest, RequestState } from '../core/request.js';
import { createRequestStore, type RequestStore } from '../core/request-store.js';
import { createSeedLibrary } from '../simulator/seed-data.js';
import { DEMO_COMMAND_HELP, type DemoCommand, parseDemoCommand } from './demo-command.js';
import { askAs, invokeAs } from './demo-playground-api.js';
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
  DEMO_PLACES,
  DEMO_REDIS_PREFIX,
  DEMO_REQUESTER,
  type DemoSettings,
  DemoSettingsError,
  readDemoSettings,
} from './demo-settings.js';
import { DemoError, type DemoStack, startDemoStack } from './demo-stack.js';

/** The terminal decides as the first on-call lead of the mock tenant. */
const APPROVER = DEMO_APPROVERS[0]!;
/** How often the terminal reports request state changes. */
const PROGRESS_EVERY_MS = 1_000;

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

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

function printWelcome(settings: DemoSettings, stack: DemoStack): void {
  const { config, simulator } = stack;
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
  const playgroundUrl = stack.playgroundUrl;
  const example = 'run minidump.ps1 OfficeClickToRun on desktop-test';
  const journey = ['Pending', 'InProgress', 'Succeeded'] as const;
  const badges = journey.map((state) => stateBadgeText(state)).join(' → ');

  say();
  say(bold('LR Bot demo is running'));
  say(`  Teams client   ${playgroundUrl}   (Microsoft 365 Agents Playground, offline)`);
  say(`  Teams tab      ${stack.tabUrl}`);
  say('                 (the Live response tab in a LOCAL stand-in for Teams: pick who you are and where)');
  say(`  Bot            http://127.0.0.1:${config.port}/api/messages   (anonymous, local only)`);
  say(`  Defender       ${simulator.url}   (simulator; devices work ${settings.speedup}x faster than usual)`);
  say(`  Sign-in        ${stack.entra.url}   (local Entra ID simulator for the tab's SSO tokens)`);
  say(`  Redis          ${config.redis.url}   (prefix ${config.redis.prefix})`);
  say();
  if (settings.role === 'requester') {
    say(bold(`1. Ask for live response as ${DEMO_REQUESTER.name} (the playground user, a responder)`));
    say(
      `   Open ${playgroundUrl}, open the "${DEMO_PLACES.groupChat.name}" group chat (or the "${DEMO_PLACES.channel.name}" channel), type @LR,`,
    );
    say('   pick "LR Bot" from the list, then finish the message and send it:');
    say(`     @LR Bot ${example}`);
    say(
      '   The bot checks the device and the library and posts an approval card that mentions the approvers.',
    );
    say(
      '   (The 1:1 "Personal Chat" works too, but no approver is in it, so the bot says to ask elsewhere.)',
    );
    say();
    say(bold(`2. Approve as ${APPROVER.name}, the on-call lead, from this terminal`));
    say(
      `   Type "approve" here (or "reject <reason>"). The card says "Approved by ${APPROVER.name} at … — queued", then its`,
    );
    say(`   badge shows ${badges} and the command Completed, with the script output, in place.`);
    say(
      `   The card shows Approve, Reject and Cancel to everyone (as Teams does); a click by ${DEMO_REQUESTER.name.split(' ')[0]} in the page is`,
    );
    say(
      `   refused with ${DEMO_REQUESTER.name.split(' ')[0]}'s own view saying why. This terminal clicks for the on-call lead through the`,
    );
    say('   playground, so the bot gets the click as it would from Teams.');
    say(
      '   To click Approve in the page yourself, run the demo as the approver: npm run demo -- --as-approver',
    );
  } else {
    say(bold(`1. Open ${playgroundUrl}: you are ${APPROVER.name}, an on-call approver`));
    say(`   Open the "${DEMO_PLACES.groupChat.name}" group chat and keep the page open.`);
    say();
    say(bold(`2. Ask for live response as ${DEMO_REQUESTER.name}, the responder, from this terminal`));
    say(`   Type: ask ${example}`);
    say(
      `   The approval card appears in "${DEMO_PLACES.groupChat.name}" (the playground draws the bot's answer, not ${DEMO_REQUESTER.name.split(' ')[0]}'s message).`,
    );
    say();
    say(bold('3. Click Approve on the card in the page'));
    say(
      `   The card says "Approved by ${APPROVER.name} at … — queued", then its badge shows ${badges}, in place.`,
    );
  }
  say('   Keep the page open: a reloaded page or a second tab starts empty, though the chats carry on.');
  say(`   The Teams tab lists the chat's requests too: open ${stack.tabUrl} (LOCAL, not Teams).`);
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
  const result = await invokeAs(playgroundPort, body);
  if (!result.ok) return result.message;
  return `${picked.request.id}: ${describeInvokeAnswer(result.answer)}`;
}

async function main(): Promise<void> {
  const settings = readDemoSettings(process.env, process.argv.slice(2));
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
    // The demo's own log level before the configuration is read: the stack's settings may raise it.
    let redis: Redis | undefined;
    const stack = await startDemoStack({
      settings,
      env: process.env,
      logger: createLogger(process.env.LOG_LEVEL?.trim() || 'warn', process.stderr),
      beforeBot: async (config) => {
        redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2 });
        redis.on('error', () => undefined);
        const cleared = await clearPreviousRun(redis, config.redis.prefix);
        if (cleared > 0)
          say(`Cleared ${cleared} Redis keys left by a previous demo (prefix ${config.redis.prefix}).`);
      },
      onBuildingTab: () => say('Building the Teams tab (npm run build:tab), once…'),
      onPlaygroundExit: (code, signal, output) => {
        if (shuttingDown) return;
        say(`\nThe agents playground stopped (code ${code ?? signal}):\n${output.trim()}`);
        void shutdown(1);
      },
    }).catch(async (error: unknown) => {
      redis?.disconnect();
      throw error;
    });
    cleanups.push(async () => redis?.disconnect());
    cleanups.push(() => stack.close());
    const db = redis as Redis | undefined;
    if (!db) throw new DemoError('the demo did not connect to Redis');
    const { config } = stack;

    const keys = redisKeys(config.redis.prefix);
    const store = createRequestStore({ redis: db, keys, clock: systemClock });
    printWelcome(settings, stack);

    // Reports request states as they change, so the terminal follows the card.
    let seen = new Map<string, RequestState>();
    const report = async (): Promise<void> => {
      if (shuttingDown) return;
      try {
        const result = progressReport(
          seen,
          await listRequests(db, keys, store),
          DEMO_APPROVERS,
          settings.role === 'approver' ? APPROVER : undefined,
        );
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
          const requests = await listRequests(db, keys, store);
          if (requests.length === 0) say('No requests yet.');
          for (const request of requests.sort((a, b) => a.createdAt.localeCompare(b.createdAt)))
            say(describeRequest(request));
          return;
        }
        case 'ask':
          await askAs(settings.playgroundPort, DEMO_PLACES.groupChat.id, DEMO_REQUESTER, command.text);
          say(`${DEMO_REQUESTER.name} asked @LR Bot in "${DEMO_PLACES.groupChat.name}": ${command.text}`);
          return;
        case 'approve':
        case 'reject': {
          const decision: DemoDecision =
            command.kind === 'approve'
              ? { verb: 'approve' }
              : { verb: 'reject', ...(command.reason ? { reason: command.reason } : {}) };
          say(
            await sendDecision(
              settings.playgroundPort,
              await listRequests(db, keys, store),
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
