// Pre-flight before anyone is asked to approve: the device resolves to one machine (older records of a re-imaged
// machine set aside), every script and file is in the library and fits the device's OS, and Defender lists no live
// response pending or running on it (sessions opened in the portal are not listed, so they cannot be seen here).
import { distance } from 'fastest-levenshtein';
import type { LiveResponseCommand } from '../core/commands.js';
import type { DeviceFacts } from '../core/request.js';
import {
  inlineCode,
  SCRIPT_EXTENSIONS,
  validatePathForPlatform,
  validateScriptForPlatform,
} from '../core/validate-command.js';
import type { DefenderApi } from '../defender/defender-client.js';
import type { DeviceFinder } from '../defender/device-finder.js';
import { isMachineId } from '../defender/device-names.js';
import type { LibraryFile, Machine, MachineAction } from '../defender/types.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** The machine a typed name means, and the older records of that same machine that were set aside. */
export interface ResolvedDevice {
  machine: Machine;
  /** Other records with the machine's name (a re-imaged device keeps its old ones), newest first. */
  olderRecords: Machine[];
}

/** Most older records kept on the request; the card says how many there were. */
const MAX_OLDER_RECORDS = 10;

export function deviceFacts(device: ResolvedDevice): DeviceFacts {
  const { machine, olderRecords } = device;
  return {
    machineId: machine.id,
    computerDnsName: machine.computerDnsName,
    ...(machine.osPlatform ? { osPlatform: machine.osPlatform } : {}),
    ...(machine.osVersion ? { osVersion: machine.osVersion } : {}),
    ...(machine.healthStatus ? { healthStatus: machine.healthStatus } : {}),
    ...(machine.riskScore ? { riskScore: machine.riskScore } : {}),
    ...(machine.exposureLevel ? { exposureLevel: machine.exposureLevel } : {}),
    ...(machine.lastSeen ? { lastSeen: machine.lastSeen } : {}),
    ...(olderRecords.length > 0
      ? {
          olderRecords: olderRecords.slice(0, MAX_OLDER_RECORDS).map((m) => ({
            machineId: m.id,
            ...(m.healthStatus ? { healthStatus: m.healthStatus } : {}),
            ...(m.lastSeen ? { lastSeen: m.lastSeen } : {}),
          })),
        }
      : {}),
  };
}

const lastSeenOf = (machine: Machine) => {
  const at = machine.lastSeen ? Date.parse(machine.lastSeen) : Number.NaN;
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
};

/**
 * The records of one device name, reduced to the machine that is there now. A re-imaged device keeps its older
 * records under the same name, Inactive (or still Active for the days before they age out): the Active record seen
 * most recently is the machine on the desk; without an Active one, the one seen most recently.
 */
export function currentRecord(records: readonly Machine[]): ResolvedDevice {
  const ordered = [...records].sort(
    (a, b) =>
      Number(b.healthStatus === 'Active') - Number(a.healthStatus === 'Active') ||
      lastSeenOf(b) - lastSeenOf(a),
  );
  return {
    machine: ordered[0]!,
    olderRecords: ordered.slice(1).sort((a, b) => lastSeenOf(b) - lastSeenOf(a)),
  };
}

/** Records grouped by machine name: one group is one machine, however many times it was re-imaged. */
export function byName(records: readonly Machine[]): ResolvedDevice[] {
  const groups = new Map<string, Machine[]>();
  for (const record of records) {
    const name = record.computerDnsName.toLowerCase();
    groups.set(name, [...(groups.get(name) ?? []), record]);
  }
  return [...groups.values()].map(currentRecord);
}

function olderNote(count: number): string {
  return count === 0 ? '' : `, and ${count} older record${count === 1 ? '' : 's'} of this name`;
}

/**
 * Short name, FQDN or machine id → exactly one machine, or a reply listing matches or suggestions. Records that
 * share one name are one machine (see `currentRecord`); names of different machines are a question for the user.
 */
export async function resolveDevice(
  findDevice: DeviceFinder,
  defender: DefenderApi,
  typed: string,
): Promise<Checked<ResolvedDevice>> {
  const name = typed.toLowerCase();
  const candidates = await findDevice(name);
  if (isMachineId(name) && candidates.length === 0)
    return {
      ok: false,
      message: `Defender has no device with machine id \`${name}\`. Check the id in the device page of the Defender portal.`,
    };
  const machines = byName(candidates);
  if (machines.length === 1) return { ok: true, value: machines[0]! };
  if (machines.length > 1) {
    const list = machines
      .slice(0, 10)
      .map(
        ({ machine: m, olderRecords }) =>
          `- \`${m.computerDnsName}\` (${m.osPlatform ?? 'unknown OS'}, last seen ${m.lastSeen ?? 'unknown'}, id \`${m.id}\`${olderNote(olderRecords.length)})`,
      )
      .join('\n');
    return {
      ok: false,
      message: `**${typed}** matches ${machines.length} devices:\n${list}\n\nUse the full name or the machine id, e.g. \`… on ${machines[0]!.machine.computerDnsName}\`.`,
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

/**
 * Every script and file must be in the live response library (names take the library's spelling), and, once the
 * device is known, every path and script must be of its operating system (Windows, or Linux/macOS).
 */
export function checkLibrary(
  commands: LiveResponseCommand[],
  library: LibraryFile[],
  device?: Machine,
): Checked<LiveResponseCommand[]> {
  const byName = new Map(library.map((f) => [f.fileName.toLowerCase(), f]));
  const scripts = library
    .map((f) => `\`${f.fileName}\``)
    .slice(0, 15)
    .join(', ');
  const scriptNames = library
    .map((f) => f.fileName)
    .filter((n) => SCRIPT_EXTENSIONS.some((ext) => n.toLowerCase().endsWith(ext)));
  const normalised: LiveResponseCommand[] = [];
  for (const command of commands) {
    if (command.type === 'GetFile') {
      const path = device ? validatePathForPlatform(command.path, device) : undefined;
      if (path && !path.ok) return { ok: false, message: refusal(path) };
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
      const script = device ? validateScriptForPlatform(file.fileName, device, scriptNames) : undefined;
      if (script && !script.ok) return { ok: false, message: refusal(script) };
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

function refusal(checked: { problem: string; example: string }): string {
  return `${checked.problem}\n\nTry: ${inlineCode(checked.example)}`;
}

/**
 * One live response per device: refuse when Defender lists one pending or running there. This proves less than
 * "the device is free": sessions opened from the device page of the portal are not in `machineactions` (Microsoft
 * Learn, Run live response commands), so Defender may still refuse the request as busy when it is submitted.
 */
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
