// Batched device lookups against the simulator over HTTP: names asked while a lookup is in flight share the next
// call, and each caller gets exactly the machines its own name means.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DefenderSimulator, startDefenderSimulator } from '../simulator/defender-simulator.js';
import { machineIdFor, workstation } from '../simulator/seed-data.js';
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

  it('sends a long queue in as few calls as the node and length limits allow', async () => {
    const door = gated(client);
    const find = createDeviceFinder(door, { budget: { maxNodes: 14, maxQueryLength: 2048 } });
    const all = ['srv-db01', 'desktop-test', 'desktop-test', 'web01', 'laptop-offline', 'kiosk-nogroup'].map(
      (n) => find(n),
    );
    door.open();
    const answers = await Promise.all(all);
    expect(answers.map((a) => a.length)).toEqual([1, 1, 1, 2, 1, 1]);
    // 14 nodes hold two short names (4 for the `in` list, 5 per startswith): srv-db01 alone; then
    // {desktop-test ×2, web01}; then {laptop-offline, kiosk-nogroup}.
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

  // Issue 9's cases: with the names joined by `or`, 15 long names made a 2,171-character query (414), 14 names
  // 139 nodes (400), and 29 of 30 simultaneous requests failed.
  const longName = (i: number) => `finance-reporting-workstation-${String(i).padStart(2, '0')}-building-a`;
  it.each([
    { what: '15 long names', names: Array.from({ length: 15 }, (_, i) => longName(i)) },
    { what: '14 short names', names: Array.from({ length: 14 }, (_, i) => `ws-${i}`) },
  ])('finds $what asked together, every call under both limits', async ({ names: typed }) => {
    for (const name of typed) sim.control.addMachine(workstation(name));
    const door = gated(client);
    const find = createDeviceFinder(door);
    const first = find('srv-db01');
    const asked = typed.map((name) => find(name));
    door.open();
    await first;
    const answers = await Promise.all(asked);
    expect(answers.map((a) => names(a))).toEqual(typed.map((name) => [`${name}.contoso.local`]));
    const calls = sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ });
    expect(calls.map((c) => c.status)).toEqual(calls.map(() => 200));
  });

  it('answers 30 simultaneous requests, each with its own device, in a few calls', async () => {
    const typed = Array.from({ length: 30 }, (_, i) => `desk-${String(i).padStart(2, '0')}`);
    for (const name of typed) sim.control.addMachine(workstation(name));
    const find = createDeviceFinder(client);
    const answers = await Promise.all(typed.map((name) => find(name)));
    expect(answers.map((a) => names(a))).toEqual(typed.map((name) => [`${name}.contoso.local`]));
    const statuses = sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ }).map((c) => c.status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The first alone, then 29 in two calls (18 short names fill the 94 nodes planned for).
    expect(statuses).toHaveLength(3);
  });

  it('splits a batch Defender refuses (400 or 414) into halves, so every request still gets its answer', async () => {
    // A finder that believes Defender takes anything: the simulator's real limits refuse its batches.
    const typed = Array.from({ length: 30 }, (_, i) => longName(i));
    for (const name of typed) sim.control.addMachine(workstation(name));
    const door = gated(client);
    const find = createDeviceFinder(door, { budget: { maxNodes: 10_000, maxQueryLength: 100_000 } });
    const first = find('srv-db01');
    const asked = typed.map((name) => find(name));
    door.open();
    await first;
    const answers = await Promise.all(asked);
    expect(answers.map((a) => names(a))).toEqual(typed.map((name) => [`${name}.contoso.local`]));
    const statuses = sim.control.calls({ method: 'GET', path: /^\/api\/machines$/ }).map((c) => c.status);
    expect(statuses).toContain(414);
  });

  it('fails only the request whose own name Defender refuses, not the others in its batch', async () => {
    const door = gated(client);
    const find = createDeviceFinder(door, { budget: { maxNodes: 10_000, maxQueryLength: 100_000 } });
    const first = find('srv-db01');
    const huge = `h${'x'.repeat(2100)}`;
    const asked = ['desktop-test', huge, 'web01'].map((name) => find(name));
    door.open();
    await first;
    const [desktop, tooLong, web01] = await Promise.allSettled(asked);
    expect(desktop).toMatchObject({
      status: 'fulfilled',
      value: [{ computerDnsName: 'desktop-test.contoso.local' }],
    });
    expect(tooLong).toMatchObject({ status: 'rejected', reason: { status: 414 } });
    expect(web01?.status).toBe('fulfilled');
  });
});
