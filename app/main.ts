// `npm start` / `node dist/app/main.js`: reads the configuration, starts the bot (HTTP + workers; `--worker-only`;
// `--http-only`) and stops cleanly on SIGTERM/SIGINT within SHUTDOWN_TIMEOUT. Everything it writes is a JSON line.
import { ConfigError, describeConfig, readConfig } from './config.js';
import { routeConsoleToLogger } from './console-to-log.js';
import { createLogger } from './logger.js';
import { createShutdown, logProcessFailures } from './shutdown.js';
import { startApp } from './start-app.js';

/** Which parts run in this process, from the command line. */
function modeOf(argv: readonly string[]): { http: boolean; workers: boolean; name: string } {
  if (argv.includes('--worker-only')) return { http: false, workers: true, name: 'workers' };
  if (argv.includes('--http-only')) return { http: true, workers: false, name: 'http' };
  return { http: true, workers: true, name: 'http+workers' };
}

async function main(): Promise<void> {
  try {
    process.loadEnvFile?.('.env');
  } catch {
    // No .env file: the environment alone configures the bot.
  }
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      // No LOG_LEVEL yet: a bad configuration is always worth a line, JSON like every other.
      createLogger('info', process.stderr).fatal(
        { problems: error.problems, help: 'See .env.example for every setting and its default.' },
        error.message,
      );
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  routeConsoleToLogger(logger);
  logProcessFailures(logger, (code) => process.exit(code));
  const mode = modeOf(process.argv);
  logger.info({ config: describeConfig(config), mode: mode.name }, 'starting');
  const app = await startApp(config, { http: mode.http, workers: mode.workers, logger });

  const stop = createShutdown({
    logger,
    close: () => app.close(),
    timeoutMs: config.ops.shutdownTimeoutMs,
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger('info', process.stderr).fatal({ err: error }, 'lr-bot failed to start');
  process.exit(1);
});
