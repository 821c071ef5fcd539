// The Defender simulator in a process of its own for the benchmark, so serving a burst of Defender calls does not
// delay the fake Teams connector or the measuring client; run-bench.ts reads its call log and actions over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MachineAction } from '../defender/types.js';
import type { CallRecord } from '../simulator/defender-simulator.js';
import { startDefenderSimulator } from '../simulator/defender-simulator.js';
import { benchMachines, LIMITS, SPEED } from './scenario.js';

export type ToSim = { type: 'snapshot' } | { type: 'stop' };
export type FromSim =
  | { type: 'ready'; url: string; machines: { id: string; computerDnsName: string }[] }
  | {
      type: 'snapshot';
      /** The two clocks read in the same tick: simulated ms and real epoch ms. */
      simNow: number;
      realNow: number;
      calls: CallRecord[];
      actions: MachineAction[];
      loopDelayMs: { p50: number; p99: number; max: number };
    };

function tell(message: FromSim): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/sim-process.ts is started by bench/run-bench.ts (it needs IPC)');
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const sim = await startDefenderSimulator({
    speed: SPEED,
    limits: LIMITS,
    extraMachines: benchMachines(Date.now()),
  });
  process.on('message', (message: ToSim) => {
    if (message.type === 'snapshot') {
      tell({
        type: 'snapshot',
        simNow: sim.control.now(),
        realNow: Date.now(),
        calls: sim.control.calls(),
        actions: sim.control.actions(),
        loopDelayMs: {
          p50: loop.percentile(50) / 1e6,
          p99: loop.percentile(99) / 1e6,
          max: loop.max / 1e6,
        },
      });
    } else if (message.type === 'stop') {
      void sim.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => {
    void sim.close().finally(() => process.exit(0));
  });
  tell({
    type: 'ready',
    url: sim.url,
    machines: sim.control.machines().map((m) => ({ id: m.id, computerDnsName: m.computerDnsName })),
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench simulator failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
