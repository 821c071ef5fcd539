// Runs the Defender simulator as its own process (`npm run simulator`) for the demo and manual testing.
// Environment: SIM_PORT (default 4980), SIM_HOST (default 127.0.0.1), SIM_TOKEN (default sim-token),
// SIM_SPEED (simulated ms per real ms, default 1), SIM_PUBLIC_URL (base of result links, default the listen URL).
import { startDefenderSimulator } from './defender-simulator.js';

function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const simulator = await startDefenderSimulator({
    port: readNumber(env, 'SIM_PORT', 4980),
    host: env.SIM_HOST || '127.0.0.1',
    accessToken: env.SIM_TOKEN || 'sim-token',
    speed: readNumber(env, 'SIM_SPEED', 1) || 1,
    ...(env.SIM_PUBLIC_URL ? { publicUrl: env.SIM_PUBLIC_URL } : {}),
  });
  const tokenSource = env.SIM_TOKEN ? 'the token in SIM_TOKEN' : 'the token "sim-token"';
  console.log(
    `Defender simulator listening on ${simulator.url} (expects ${tokenSource}; speed ${env.SIM_SPEED || 1}x)`,
  );
  console.log(`Point the bot at it: DEFENDER_API_URL=${simulator.url} DEFENDER_ACCESS_TOKEN=<that token>`);
  console.log(`Control: ${simulator.url}/_sim/now, /_sim/calls, /_sim/actions, /_sim/faults, /_sim/reset`);

  const stop = (): void => {
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
