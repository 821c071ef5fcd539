// Batched device lookups against the simulator over HTTP: names asked while a lookup is in flight share the next
// call, and each caller gets exactly the machines its own name means.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { machineIdFor } from '../simulator/seed-data.js';
import { createDefenderClient, type DefenderApi } from './defender-client.js';
import { createDeviceFinder } from './device-finder.js';
import { createStaticTokenProvider } from './token-provider.js';

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

const machineCalls = () => sim.control.calls({ method: 'GET', path: /^\/api\/machines/ }).length;

/** The client, held at the door until `open()`: the first lookup stays in flight while others queue. */
function gated(api: DefenderApi) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let first = true;
  return {
    open: () => open(),
    findMachines: async (q: Parameters<DefenderApi['findMachines']>[0]) => {
      if (first) {
        first = false;
        await gate;
      }
      return api.findMachines(q);
    },
  };
}

const names = (machines: { computerDnsName: string }[]) => machines.map((m) => m.computerDnsName).sort();

describe('createDeviceFinder', () => {
  it('asks at once for a lone name', async () => {
    const find = createDeviceFinder(client);
    expect(names(await find('desktop-test'))).toEqual(['desktop-test.contoso.local']);
    expect(machineCalls()).toBe(1);
  });

  it('sends the names asked while a lookup is in flight together, and gives each caller its own machines', async () => {
    const door = gated(client);
    const find = createDeviceFinder(door);
    const first = find('srv-db01');
    const asked = [
      'desktop-test',
      'DESKTOP-TEST2.contoso.local',
      machineIdFor('kiosk-nogroup.contoso.local'),
      'web01',
      'nosuchdevice',
      'desktop',
    ].map((name) => find(name));
    door.open();
    expect(names(await first)).toEqual(['srv-db01.contoso.local']);
    const [desktop, desktop2, kiosk, web01, none, partial] = await Promise.all(asked);
    expect(names(desktop!)).toEqual(['desktop-test.contoso.local']);
    expect(names(desktop2!)).toEqual(['desktop-test2.contoso.local']);
    expect(names(kiosk!)).toEqual(['kiosk-nogroup.contoso.local']);
    expect(names(web01!)).toEqual(['web01.contoso.local', 'web01.fabrikam.local']);
    // A name typed in part is not a device: the pre-flight suggests instead.
    expect(none).toEqual([]);
    expect(partial).toEqual([]);
    expect(machineCalls()).toBe(2);
  });

  it('splits a long queue into calls of at most maxBatch distinct names', async () => {
    const door = gated(client);
    const find = createDeviceFinder(door, { maxBatch: 2 });
    const all = ['srv-db01', 'desktop-test', 'desktop-test', 'web01', 'laptop-offline', 'kiosk-nogroup'].map(
      (n) => find(n),
    );
    door.open();
    const answers = await Promise.all(all);
    expect(answers.map((a) => a.length)).toEqual([1, 1, 1, 2, 1, 1]);
    // srv-db01 alone; then {desktop-test ×2, web01}; then {laptop-offline, kiosk-nogroup}.
    expect(machineCalls()).toBe(3);
  });

  it('fails every caller of a failed call, and the next caller gets a new call', async () => {
    const find = createDeviceFinder(client);
    // The first name goes alone, the other two together: both calls fail.
    sim.control.injectFault({ kind: 'status', path: /^\/api\/machines/, status: 503, times: 2 });
    const failed = await Promise.allSettled([find('srv-db01'), find('desktop-test'), find('web01')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(machineCalls()).toBe(2);
    expect(names(await find('desktop-test'))).toEqual(['desktop-test.contoso.local']);
  });
});
