// What a typed device name means to Defender: a 40-hex machine id, an FQDN, or a short host name that is either the
// whole computerDnsName or its first label. One place builds the filter clause and decides which machines match,
// so a batched lookup can split one answer between many typed names.
import type { Machine } from './types.js';

const MACHINE_ID = /^[0-9a-f]{40}$/i;

export function isMachineId(typed: string): boolean {
  return MACHINE_ID.test(typed);
}

/** The OData clause matching exactly the machines `machineMatches` accepts (strings already quoted by the caller). */
export function deviceClause(typed: string, quote: (value: string) => string): string {
  const name = typed.toLowerCase();
  if (isMachineId(name)) return `id eq ${quote(name)}`;
  if (name.includes('.')) return `computerDnsName eq ${quote(name)}`;
  return `(computerDnsName eq ${quote(name)} or startswith(computerDnsName,${quote(`${name}.`)}))`;
}

export function machineMatches(typed: string, machine: Machine): boolean {
  const name = typed.toLowerCase();
  if (isMachineId(name)) return machine.id.toLowerCase() === name;
  const dns = machine.computerDnsName.toLowerCase();
  return dns === name || (!name.includes('.') && dns.startsWith(`${name}.`));
}
