// Pre-flight decisions that need no I/O: which of several Defender records a typed name means, and whether the
// commands fit the device's operating system.
import { describe, expect, it } from 'vitest';
import type { LiveResponseCommand } from '../core/commands.js';
import type { DefenderApi } from '../defender/defender-client.js';
import type { LibraryFile, Machine } from '../defender/types.js';
import { checkLibrary, currentRecord, deviceFacts, resolveDevice } from './preflight.js';

const ago = (days: number) => new Date(Date.parse('2026-12-07T12:00:00Z') - days * 86_400_000).toISOString();

function record(id: string, computerDnsName: string, healthStatus: string, lastSeenDaysAgo: number): Machine {
  return { id: id.repeat(40).slice(0, 40), computerDnsName, healthStatus, lastSeen: ago(lastSeenDaysAgo) };
}

/** Resolves against a fixed list of records, as the batched finder would return them for the typed name. */
function resolve(records: Machine[], typed: string) {
  const noSuggestions = { findMachines: async () => [] } as unknown as DefenderApi;
  return resolveDevice(async () => records, noSuggestions, typed);
}

describe('resolveDevice with re-imaged devices', () => {
  const active = record('a', 'fin-laptop07.contoso.local', 'Active', 0.01);
  const older = record('b', 'fin-laptop07.contoso.local', 'Inactive', 40);
  const oldest = record('c', 'fin-laptop07.contoso.local', 'Inactive', 80);

  it('takes the Active record and keeps the older ones aside, newest first', async () => {
    const resolved = await resolve([oldest, active, older], 'fin-laptop07');
    expect(resolved).toEqual({ ok: true, value: { machine: active, olderRecords: [older, oldest] } });
    if (!resolved.ok) return;
    expect(deviceFacts(resolved.value).olderRecords).toEqual([
      { machineId: older.id, healthStatus: 'Inactive', lastSeen: older.lastSeen },
      { machineId: oldest.id, healthStatus: 'Inactive', lastSeen: oldest.lastSeen },
    ]);
  });

  it('takes an Active record over an Inactive one seen later', () => {
    const lateInactive = record('d', 'x.contoso.local', 'Inactive', 0);
    const earlyActive = record('e', 'x.contoso.local', 'Active', 2);
    expect(currentRecord([lateInactive, earlyActive]).machine).toBe(earlyActive);
  });

  it('takes the Active record seen last when an older one has not aged out yet', () => {
    const stillActive = record('f', 'x.contoso.local', 'Active', 3);
    const current = record('g', 'x.contoso.local', 'Active', 0.1);
    expect(currentRecord([stillActive, current])).toEqual({ machine: current, olderRecords: [stillActive] });
  });

  it('takes the record seen last when none is Active', () => {
    const a = record('h', 'x.contoso.local', 'Inactive', 9);
    const b = record('i', 'x.contoso.local', 'Inactive', 2);
    expect(currentRecord([a, b]).machine).toBe(b);
  });

  it('needs no note for a device with one record', async () => {
    const resolved = await resolve([active], 'fin-laptop07');
    expect(resolved.ok && deviceFacts(resolved.value).olderRecords).toBeUndefined();
  });

  it('still asks which one when the name matches different machines, counting their older records', async () => {
    const other = record('j', 'fin-laptop07.fabrikam.local', 'Active', 0.2);
    const resolved = await resolve([active, older, other], 'fin-laptop07');
    expect(resolved.ok).toBe(false);
    if (resolved.ok) return;
    expect(resolved.message).toContain('**fin-laptop07** matches 2 devices');
    expect(resolved.message).toContain(`id \`${active.id}\`, and 1 older record of this name`);
    expect(resolved.message).toContain(`id \`${other.id}\`)`);
    expect(resolved.message).not.toContain(older.id);
  });
});

describe('checkLibrary on the device’s operating system', () => {
  const library: LibraryFile[] = ['whoami.ps1', 'collect-logs.sh', 'whoami.sh'].map((fileName) => ({
    fileName,
    hasParameters: false,
  }));
  const linux: Machine = {
    id: 'l'.repeat(40),
    computerDnsName: 'linux-web02.contoso.local',
    osPlatform: 'Linux',
  };
  const mac: Machine = {
    id: 'm'.repeat(40),
    computerDnsName: 'mac-design01.contoso.local',
    osPlatform: 'macOS',
  };
  const windows: Machine = {
    id: 'w'.repeat(40),
    computerDnsName: 'desktop-test.contoso.local',
    osPlatform: 'Windows11',
  };
  const check = (commands: LiveResponseCommand[], machine: Machine) =>
    checkLibrary(commands, library, machine);

  it('takes POSIX paths and .sh scripts on Linux and macOS, as typed', () => {
    const commands: LiveResponseCommand[] = [
      { type: 'RunScript', scriptName: 'WHOAMI.sh' },
      { type: 'GetFile', path: '/var/log/syslog' },
    ];
    for (const machine of [linux, mac]) {
      expect(check(commands, machine)).toEqual({
        ok: true,
        value: [
          { type: 'RunScript', scriptName: 'whoami.sh' },
          { type: 'GetFile', path: '/var/log/syslog' },
        ],
      });
    }
  });

  it('refuses a Windows path on Linux, showing the right form', () => {
    const checked = check([{ type: 'GetFile', path: 'C:\\Windows\\Temp\\x.log' }], linux);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.message).toContain('linux-web02.contoso.local runs Linux');
    expect(checked.message).toContain('is a Windows path');
    expect(checked.message).toContain('Try: `getfile /var/log/syslog from linux-web02.contoso.local`');
  });

  it('refuses a POSIX path on Windows, showing the right form', () => {
    const checked = check([{ type: 'GetFile', path: '/var/log/syslog' }], windows);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.message).toContain('runs Windows11');
    expect(checked.message).toContain(
      'Try: `getfile C:\\Windows\\Temp\\file.zip from desktop-test.contoso.local`',
    );
  });

  it('refuses a PowerShell script on macOS, offering the library’s Bash scripts', () => {
    const checked = check([{ type: 'RunScript', scriptName: 'whoami.ps1' }], mac);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.message).toContain('runs macOS, where live response runs Bash scripts (`.sh`)');
    expect(checked.message).toContain('`collect-logs.sh`, `whoami.sh`');
    expect(checked.message).toContain('Try: `run collect-logs.sh on mac-design01.contoso.local`');
  });

  it('refuses a Bash script on Windows', () => {
    const checked = check([{ type: 'RunScript', scriptName: 'whoami.sh' }], windows);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.message).toContain('where live response runs PowerShell scripts (`.ps1`)');
    expect(checked.message).toContain('Try: `run whoami.ps1 on desktop-test.contoso.local`');
  });

  it('takes either form when Defender does not say which OS the device runs', () => {
    const unknown: Machine = { id: 'u'.repeat(40), computerDnsName: 'odd.contoso.local' };
    expect(check([{ type: 'GetFile', path: '/etc/hosts' }], unknown).ok).toBe(true);
    expect(check([{ type: 'GetFile', path: 'C:\\x.txt' }], unknown).ok).toBe(true);
  });
});
