// Polling many actions against the simulator over HTTP: batches of `id in (...)` that fit Defender's 2 KB query
// strings, and a batch Defender refuses anyway is asked again in halves.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDefenderClient, type DefenderApi } from '../defender/defender-client.js';
import { callInHalvesWhenRefused } from '../defender/odata-limits.js';
import { createStaticTokenProvider } from '../defender/token-provider.js';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { machineIdFor } from '../simulator/seed-data.js';
import { POLL_BATCH, pollBatches } from './poll-processor.js';

let sim: DefenderSimulator;
let client: DefenderApi;

beforeAll(async () => {
  sim = await startDefenderSimulator();
  client = createDefenderClient({ baseUrl: sim.url, tokens: createStaticTokenProvider('sim-token') });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.control.reset();
});

const listCalls = () => sim.control.calls({ method: 'GET', path: /^\/api\/machineactions$/ });

/** Two real actions among 48 other action GUIDs: 50 in flight, as many as one poll used to send in one URL. */
async function fiftyIds(): Promise<{ ids: string[]; real: string[] }> {
  const real: string[] = [];
  for (const device of ['desktop-test.contoso.local', 'srv-db01.contoso.local']) {
    const action = await client.runLiveResponse(machineIdFor(device), {
      Commands: [{ type: 'RunScript', params: [{ key: 'ScriptName', value: 'whoami.ps1' }] }],
      Comment: 'poll test',
    });
    real.push(action.id);
  }
  const ids = [...real, ...Array.from({ length: 48 }, () => randomUUID())];
  return { ids, real };
}

describe('polling fifty actions', () => {
  it('would pass 2 KB in one URL, so it goes in batches that all answer', async () => {
    const { ids, real } = await fiftyIds();
    expect(POLL_BATCH).toBe(50);
    // What one call of all fifty meets.
    await expect(client.listMachineActions({ ids })).rejects.toMatchObject({ status: 414 });
    sim.control.clearCalls();

    const batches = pollBatches(ids, (id) => id);
    expect(batches.flat()).toEqual(ids);
    const found = [];
    for (const batch of batches) found.push(...(await client.listMachineActions({ ids: batch })));
    expect(found.map((a) => a.id).sort()).toEqual([...real].sort());
    expect(listCalls().map((c) => c.status)).toEqual([200, 200]);
  });

  it('asks again in halves when Defender refuses a batch, so every action is still seen', async () => {
    const { ids, real } = await fiftyIds();
    sim.control.clearCalls();
    sim.control.injectFault({ kind: 'status', path: /^\/api\/machineactions$/, status: 414, times: 1 });
    const batch = pollBatches(ids, (id) => id)[0]!;
    const found = await callInHalvesWhenRefused(batch, (part) => client.listMachineActions({ ids: part }));
    expect(found.map((a) => a.id).sort()).toEqual(real.filter((id) => batch.includes(id)).sort());
    expect(listCalls().map((c) => c.status)).toEqual([414, 200, 200]);
  });
});
