// `npm start`: reads the configuration, starts the bot (HTTP + workers, or workers only) and stops cleanly on signals.
import { ConfigError, describeConfig, readConfig } from './config.js';
import { createLogger } from './logger.js';
import { startApp } from './start-app.js';

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
      process.stderr.write(`${error.message}\n\nSee .env.example for every setting and its default.\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const workerOnly = process.argv.includes('--worker-only');
  logger.info({ config: describeConfig(config), mode: workerOnly ? 'workers' : 'http+workers' }, 'starting');
  const app = await startApp(config, { http: !workerOnly, workers: true, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`lr-bot failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
