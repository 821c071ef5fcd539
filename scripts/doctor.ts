// `npm run doctor`: checks a deployment's configuration and everything it connects to before the first request,
// prints each check with its fix, and exits non-zero when any check failed. Reads `.env` like `npm start`.
import { exitCodeOf, formatResults } from './doctor-checks.js';
import { runDoctor } from './doctor-run.js';

try {
  process.loadEnvFile?.('.env');
} catch {
  // No .env file: the environment alone configures the bot.
}
const results = await runDoctor(process.env);
process.stdout.write(`${formatResults(results)}\n`);
process.exit(exitCodeOf(results));
