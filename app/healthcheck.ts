// The container's HEALTHCHECK: `node dist/app/healthcheck.js` asks this process's own /healthz (the operator port
// when METRICS_PORT is set, else PORT) and exits 0 when it answers 200, 1 otherwise. No shell, curl or wget needed.
import { readConfig } from './config.js';

const TIMEOUT_MS = 3_000;

async function check(): Promise<number> {
  try {
    process.loadEnvFile?.('.env');
  } catch {
    // The environment alone configures the bot.
  }
  const config = readConfig(process.env);
  const port = config.ops.metricsPort ?? config.port;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    process.stdout.write(`${JSON.stringify({ healthz: response.status })}\n`);
    return response.status === 200 ? 0 : 1;
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ healthz: 'unreachable', err: String(error) })}\n`);
    return 1;
  }
}

check().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ healthz: 'error', err: String(error) })}\n`);
    process.exit(1);
  },
);
