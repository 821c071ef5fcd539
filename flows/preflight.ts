// Pre-flight before anyone is asked to approve: the device resolves to one machine, every script and file is in
// the library, and the device has no live response already pending or running.
import { distance } from 'fastest-levenshtein';
import type { LiveResponseCommand } from '../core/commands.js';
import type { DeviceFacts } from '../core/request.js';
import type { DefenderApi } from '../defender/defender-client.js';
import type { DeviceFinder } from '../defender/device-finder.js';
import { isMachineId } from '../defender/device-names.js';
import type { LibraryFile, Machine, MachineAction } from '../defender/types.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

export function deviceFacts(machine: Machine): DeviceFacts {
  return {
    machineId: machine.id,
    computerDnsName: machine.computerDnsName,
    ...(machine.osPlatform ? { osPlatform: machine.osPlatform } : {}),
    ...(machine.osVersion ? { osVersion: machine.osVersion } : {}),
    ...(machine.healthStatus ? { healthStatus: machine.healthStatus } : {}),
    ...(machine.riskScore ? { riskScore: machine.riskScore } : {}),
    ...(machine.exposureLevel ? { exposureLevel: machine.exposureLevel } : {}),
    ...(machine.lastSeen ? { lastSeen: machine.lastSeen } : {}),
  };
}

/** Short name, FQDN or machine id → exactly one machine, or a reply listing matches or suggestions. */
export async function resolveDevice(
  findDevice: DeviceFinder,
  defender: DefenderApi,
  typed: string,
): Promise<Checked<Machine>> {
  const name = typed.toLowerCase();
  const candidates = await findDevice(name);
  if (isMachineId(name) && candidates.length === 0)
    return {
      ok: false,
      message: `Defender has no device with machine id \`${name}\`. Check the id in the device page of the Defender portal.`,
    };
  if (candidates.length === 1) return { ok: true, value: candidates[0]! };
  if (candidates.length > 1) {
    const list = candidates
      .slice(0, 10)
      .map(
        (m) =>
          `- \`${m.computerDnsName}\` (${m.osPlatform ?? 'unknown OS'}, last seen ${m.lastSeen ?? 'unknown'}, id \`${m.id}\`)`,
      )
      .join('\n');
    return {
      ok: false,
      message: `**${typed}** matches ${candidates.length} devices:\n${list}\n\nUse the full name or the machine id, e.g. \`… on ${candidates[0]!.computerDnsName}\`.`,
    };
  }
  const suggestions = await suggestDevices(defender, name);
  return {
    ok: false,
    message:
      suggestions.length > 0
        ? `Defender has no device called **${typed}**. Did you mean ${suggestions.map((s) => `\`${s}\``).join(', ')}?`
        : `Defender has no device called **${typed}**. Check the name in the Defender portal's device inventory, or use its machine id.`,
  };
}

async function suggestDevices(defender: DefenderApi, name: string): Promise<string[]> {
  const prefix = name.split('.')[0]!.slice(0, 3);
  if (prefix.length < 2) return [];
  const nearby = await defender.findMachines({ dnsNameStartsWith: prefix, top: 100 });
  const short = name.split('.')[0]!;
  return nearby
    .map((m) => {
      const host = m.computerDnsName.toLowerCase().split('.')[0]!;
      // A name typed only in part (`desktop` for `desktop-test`) is as likely meant as a typo.
      return { dns: m.computerDnsName, d: host.startsWith(short) ? 0 : distance(short, host) };
    })
    .filter((x) => x.d <= Math.max(2, Math.floor(short.length / 3)))
    .sort((a, b) => a.d - b.d)
    .slice(0, 5)
    .map((x) => x.dns);
}

/** Every script and file must be in the live response library; names take the library's spelling. */
export function checkLibrary(
  commands: LiveResponseCommand[],
  library: LibraryFile[],
): Checked<LiveResponseCommand[]> {
  const byName = new Map(library.map((f) => [f.fileName.toLowerCase(), f]));
  const scripts = library
    .map((f) => `\`${f.fileName}\``)
    .slice(0, 15)
    .join(', ');
  const normalised: LiveResponseCommand[] = [];
  for (const command of commands) {
    if (command.type === 'GetFile') {
      normalised.push(command);
      continue;
    }
    const wanted = command.type === 'RunScript' ? command.scriptName : command.fileName;
    const file = byName.get(wanted.toLowerCase());
    if (!file)
      return {
        ok: false,
        message: `**${wanted}** is not in the live response library. ${
          library.length ? `The library has: ${scripts}. ` : ''
        }Type \`scripts\` to see it, or ask an admin to upload the file in the Defender portal.`,
      };
    if (command.type === 'RunScript') {
      if (command.args && file.hasParameters === false)
        return {
          ok: false,
          message: `**${file.fileName}** takes no arguments, but you gave \`${command.args}\`. Try: \`run ${file.fileName} on <device>\`.`,
        };
      normalised.push({ ...command, scriptName: file.fileName });
    } else {
      normalised.push({ ...command, fileName: file.fileName });
    }
  }
  return { ok: true, value: normalised };
}

/** One live response per device: refuse when Defender already has one pending or running there. */
export function checkNotBusy(active: readonly MachineAction[], machine: Machine): Checked<null> {
  const first = active.find(
    (a) => a.machineId === machine.id && (a.status === 'Pending' || a.status === 'InProgress'),
  );
  if (!first) return { ok: true, value: null };
  return {
    ok: false,
    message: `**${machine.computerDnsName}** already has a live response ${
      first.status === 'Pending' ? 'waiting to start' : 'running'
    } (requested by ${first.requestor || 'someone'} at ${first.creationDateTimeUtc}). Defender runs one at a time per device: wait for it to finish, or cancel it first.`,
  };
}
