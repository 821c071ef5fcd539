// `npm run bench`: 100 live response requests in a burst through the real bot against the Defender simulator on a
// compressed clock, then the naive strategy against a fresh simulator; writes bench/results/latest.{json,md,svg}.
// `npm run bench -- --soak [--requests N]` and `npm run bench -- --memory` run soak.ts instead. The fan-out burst
// (5 requests × 20 devices, fan-out-burst.ts) runs after them and is appended to latest.md; `--fan-out` runs it alone.
// Everything listens on and talks to 127.0.0.1 only, and every wait has a deadline.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeResults, endpointOf } from './compute-results.js';
import { driveBot } from './drive-bot.js';
import { explainMisses } from './explain-misses.js';
import { driveFanOut, type FanOutRun, renderFanOutReport } from './fan-out-burst.js';
import { makespanLowerBound } from './lower-bound.js';
import { runNaive } from './naive-driver.js';
import { startSimProcess } from './processes.js';
import { renderChart, renderReport } from './report.js';
import { ACTION_MS, deviceName, LIMITS, NAIVE_POLL_SIM_MS, REQUESTS, SPEED } from './scenario.js';
import { runSoak } from './soak.js';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
/** The whole benchmark gives up after this long, whatever it is waiting for. */
const HARD_LIMIT_MS = 10 * 60_000;

/** `--requests N` on the command line, else `fallback`. */
function requestsArg(fallback: number): number {
  const at = process.argv.indexOf('--requests');
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error('--requests takes a positive whole number');
  return value;
}

async function main(): Promise<void> {
  if (process.argv.includes('--soak') || process.argv.includes('--memory')) {
    mkdirSync(resultsDir, { recursive: true });
    const soak = process.argv.includes('--soak');
    const requests = requestsArg(soak ? 10_000 : 1_000);
    const half = Math.floor(requests / 2);
    await runSoak(
      soak
        ? {
            requests,
            phases: [requests],
            perSecond: 17,
            approveEvery: 20,
            compressRetention: true,
            resultsDir,
            name: 'soak',
          }
        : {
            requests,
            phases: [half, requests - half],
            approveEvery: 1,
            compressRetention: false,
            resultsDir,
            name: 'memory',
          },
    );
    return;
  }
  const hardStop = setTimeout(() => {
    process.stderr.write(`bench: stopped after ${HARD_LIMIT_MS / 60_000} minutes without finishing\n`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  hardStop.unref();
  mkdirSync(resultsDir, { recursive: true });
  if (process.argv.includes('--fan-out')) {
    const fanOut = await runFanOut();
    process.stdout.write(`${renderFanOutReport(fanOut)}\n`);
    clearTimeout(hardStop);
    return;
  }

  const bound = makespanLowerBound({
    requests: REQUESTS,
    runsPerWindow: LIMITS.run.limit,
    windowMs: LIMITS.run.windowMs,
    maxSessions: LIMITS.maxSessions,
    actionMs: ACTION_MS,
  });
  const boundRealMs = bound.makespanMs / SPEED;
  process.stdout.write(
    `bench: ${REQUESTS} requests, simulator ×${SPEED}; lower bound ${bound.makespanMs / 1000} s simulated = ${boundRealMs} ms real (${bound.binding})\n`,
  );

  const loadAverageBefore = loadavg()[0]!;
  process.stdout.write('bench: running the bot…\n');
  const ours = await driveBot({
    deadlineMs: Math.max(120_000, boundRealMs * 4),
    logFile: join(resultsDir, 'latest-bot.log'),
    simLogFile: join(resultsDir, 'latest-simulator.log'),
  });

  process.stdout.write('bench: running the naive strategy…\n');
  const sim = await startSimProcess(join(resultsDir, 'latest-simulator.log'));
  let naive: Awaited<ReturnType<typeof runNaive>>;
  let naiveCalls: Awaited<ReturnType<typeof sim.snapshot>>['calls'];
  try {
    naive = await runNaive({
      defenderUrl: sim.url,
      machineIds: Array.from({ length: REQUESTS }, (_, i) =>
        sim.machineIdOf(`${deviceName(i)}.contoso.local`),
      ),
      body: {
        Commands: [
          {
            type: 'RunScript',
            params: [
              { key: 'ScriptName', value: 'minidump.ps1' },
              { key: 'Args', value: 'OfficeClickToRun' },
            ],
          },
          {
            type: 'GetFile',
            params: [{ key: 'Path', value: 'C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip' }],
          },
        ],
        Comment: 'naive benchmark client',
      },
      pollEveryMs: NAIVE_POLL_SIM_MS / SPEED,
      resultIndexes: [0, 1],
      deadline: Date.now() + Math.max(180_000, boundRealMs * 6),
    });
    naiveCalls = (await sim.snapshot()).calls;
  } finally {
    await sim.stop();
  }

  const results = computeResults({
    ours,
    naive,
    naiveCalls,
    bound,
    host: { cpus: cpus().length, loadAverageBefore, loadAverageAfter: loadavg()[0]! },
  });
  const explained = explainMisses(results, ours);
  for (const target of results.targets) {
    const cause = explained.causes[target.key];
    if (cause) target.cause = cause;
  }
  Object.assign(results.profile, { explained: explained.figures });
  // The raw records too (the JSON is not committed): enough to profile a run afterwards.
  const raw = {
    requests: ours.requests,
    defenderCalls: ours.defenderCalls.map((c) => ({
      at: c.realTime - ours.startedAt,
      endpoint: endpointOf(c),
      status: c.status,
      path: c.path,
    })),
    teamsOperations: ours.teams.requestLog.map((e) => ({
      at: e.at - ours.startedAt,
      operation: e.operation,
      conversationId: e.conversationId,
      outcome: e.outcome,
    })),
  };
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify({ ...results, raw }, null, 2)}\n`);
  writeFileSync(join(resultsDir, 'latest.svg'), renderChart(results));
  process.stdout.write('bench: running the fan-out burst…\n');
  const fanOut = await runFanOut();
  const report = `${renderReport(results)}\n${renderFanOutReport(fanOut)}\n`;
  writeFileSync(join(resultsDir, 'latest.md'), report);
  process.stdout.write(`${report}\n`);
  process.stdout.write(`bench: wrote ${join(resultsDir, 'latest.{json,md,svg}')}\n`);
  clearTimeout(hardStop);
}

/** The fan-out burst, its raw figures kept beside the report in latest-fanout.json. */
async function runFanOut(): Promise<FanOutRun> {
  const run = await driveFanOut({
    deadlineMs: 300_000,
    logFile: join(resultsDir, 'latest-fanout-bot.log'),
    simLogFile: join(resultsDir, 'latest-fanout-simulator.log'),
  });
  writeFileSync(join(resultsDir, 'latest-fanout.json'), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
