// What a typed device name means to Defender: a 40-hex machine id, an FQDN, or a short host name that is either the
// whole computerDnsName or its first label. One place builds the filter and decides which machines match, so a
// batched lookup can split one answer between many typed names.
import type { Machine } from './types.js';

const MACHINE_ID = /^[0-9a-f]{40}$/i;

export function isMachineId(typed: string): boolean {
  return MACHINE_ID.test(typed);
}

/** A `$filter` expression and its size as Defender's OData validation counts it (see odata-limits.ts). */
export interface FilterPart {
  filter: string;
  nodes: number;
}

/**
 * One OData expression matching exactly the machines `machineMatches` accepts for any of the typed names (strings
 * quoted by `quote`). Lists go in `id in (...)` and `computerDnsName in (...)`, which OData counts as one comparison
 * whatever their length; only a short name's `startswith(computerDnsName,'name.')` costs nodes per name.
 */
export function devicesFilter(typed: readonly string[], quote: (value: string) => string): FilterPart {
  const names = [...new Set(typed.map((t) => t.toLowerCase()))];
  const ids = names.filter(isMachineId);
  const dnsNames = names.filter((n) => !isMachineId(n));
  const shortNames = dnsNames.filter((n) => !n.includes('.'));
  const anyOf = (property: string, values: string[]): string =>
    values.length === 1
      ? `${property} eq ${quote(values[0]!)}`
      : `${property} in (${values.map(quote).join(',')})`;
  const clauses: string[] = [];
  if (ids.length > 0) clauses.push(anyOf('id', ids));
  if (dnsNames.length > 0) clauses.push(anyOf('computerDnsName', dnsNames));
  for (const name of shortNames) clauses.push(`startswith(computerDnsName,${quote(`${name}.`)})`);
  // Each clause is 4 nodes (a comparison, an `in` or a function call), each `or` joining two of them 1.
  return { filter: clauses.join(' or '), nodes: clauses.length * 4 + Math.max(0, clauses.length - 1) };
}

export function machineMatches(typed: string, machine: Machine): boolean {
  const name = typed.toLowerCase();
  if (isMachineId(name)) return machine.id.toLowerCase() === name;
  const dns = machine.computerDnsName.toLowerCase();
  return dns === name || (!name.includes('.') && dns.startsWith(`${name}.`));
}
