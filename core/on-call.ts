// Who is on call: the approver sources of APPROVERS (people, Entra groups, Teams tags, Teams Shifts scheduling groups),
// what they resolved to at a moment, and how that is said on a card and in the audit trail. Pure: Graph look-ups live
// in directory/.

/** One entry of APPROVERS or APPROVERS_ESCALATION. */
export type ApproverSource =
  /** An Entra object id or UPN, lower-cased: approves whenever listed. */
  | { kind: 'person'; id: string }
  /** `group:<object id>`: the group's transitive user members. */
  | { kind: 'group'; groupId: string }
  /** `tag:<name>`: members of that tag in the team the request is made in. */
  | { kind: 'tag'; name: string }
  /** `shifts:<name>`: whoever has a published shift now in that scheduling group of the request's team. */
  | { kind: 'shifts'; name: string };

export type DirectorySource = Exclude<ApproverSource, { kind: 'person' }>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UPN = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
/** Teams caps tag names at 40 characters; scheduling group names are free text, kept short enough for a card. */
const MAX_NAME = 100;

/** Parses one entry; the error says what was wrong with an example of each accepted form. */
export function parseApproverEntry(
  entry: string,
): { ok: true; source: ApproverSource } | { ok: false; error: string } {
  const text = entry.trim();
  const colon = text.indexOf(':');
  const prefix = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  const rest = colon > 0 ? text.slice(colon + 1).trim() : '';
  if (prefix === 'group') {
    if (GUID.test(rest)) return { ok: true, source: { kind: 'group', groupId: rest.toLowerCase() } };
    return { ok: false, error: `"${text}": group: takes the group's Entra object id (a GUID)` };
  }
  if (prefix === 'tag' || prefix === 'shifts') {
    if (!rest || rest.length > MAX_NAME || /\p{Cc}/u.test(rest))
      return { ok: false, error: `"${text}": ${prefix}: takes a name of 1 to ${MAX_NAME} characters` };
    return {
      ok: true,
      source: prefix === 'tag' ? { kind: 'tag', name: rest } : { kind: 'shifts', name: rest },
    };
  }
  if (GUID.test(text) || UPN.test(text))
    return { ok: true, source: { kind: 'person', id: text.toLowerCase() } };
  return {
    ok: false,
    error: `"${text}" is neither an Entra object id (GUID), a UPN, group:<object id>, tag:<name> nor shifts:<name>`,
  };
}

/** How a source is named on cards and in the audit trail: the entry as configured. */
export function sourceLabel(source: ApproverSource): string {
  switch (source.kind) {
    case 'person':
      return source.id;
    case 'group':
      return `group:${source.groupId}`;
    case 'tag':
      return `tag:${source.name}`;
    case 'shifts':
      return `shifts:${source.name}`;
  }
}

export function isDirectorySource(source: ApproverSource): source is DirectorySource {
  return source.kind !== 'person';
}

/** A person a directory source resolved to. Teams' roster gives the `29:` id later, where one is needed. */
export interface OnCallPerson {
  aadObjectId: string;
  name: string;
  upn?: string;
}

/** What one directory source resolved to. */
export interface OnCallSourceResult {
  source: string;
  people: OnCallPerson[];
  /** Why this source gave nobody when that is not simply an empty roster (e.g. a tag outside a team). */
  note?: string;
}

/** One tier's on-call list at a moment: the snapshot kept on the request and in the audit trail. */
export interface OnCallTier {
  /** 1 = APPROVERS, 2 = APPROVERS_ESCALATION. */
  tier: number;
  resolvedAt: string;
  /** The team (Entra group id) whose tags and Shifts were read; kept so later look-ups read the same team. */
  teamId?: string;
  /** Person entries of the tier, lower-cased ids/UPNs (always approvers). */
  people: string[];
  /** Directory sources of the tier and who they gave. */
  sources: OnCallSourceResult[];
}

/** Every lower-cased object id and UPN that may decide according to these tiers. */
export function approverIdsOf(tiers: readonly OnCallTier[]): string[] {
  const ids = new Set<string>();
  for (const tier of tiers) {
    for (const id of tier.people) ids.add(id);
    for (const source of tier.sources)
      for (const person of source.people) {
        ids.add(person.aadObjectId.toLowerCase());
        if (person.upn) ids.add(person.upn.toLowerCase());
      }
  }
  return [...ids];
}

/** Whether anyone at all is on call in these tiers. */
export function anyoneOnCall(tiers: readonly OnCallTier[]): boolean {
  return approverIdsOf(tiers).length > 0;
}

/** Directory people of the tiers, each once (by object id). */
export function directoryPeopleOf(tiers: readonly OnCallTier[]): OnCallPerson[] {
  const seen = new Map<string, OnCallPerson>();
  for (const tier of tiers)
    for (const source of tier.sources)
      for (const person of source.people) seen.set(person.aadObjectId.toLowerCase(), person);
  return [...seen.values()];
}

/** `On call (shifts:SOC Tier 1): Alex Lead, Sam Ops` per directory source; nothing for person entries. */
export function describeOnCall(tier: OnCallTier): string[] {
  return tier.sources.map((source) => {
    const names = source.people.map((p) => p.name).join(', ');
    return `On call (${source.source}): ${names || `nobody${source.note ? ` — ${source.note}` : ''}`}`;
  });
}

/** The source(s) through which a person is on call in these tiers, e.g. `shifts:SOC Tier 1`. */
export function sourcesOf(tiers: readonly OnCallTier[], ids: readonly string[]): string[] {
  const wanted = new Set(ids.map((id) => id.toLowerCase()));
  const found: string[] = [];
  for (const tier of tiers) {
    if (tier.people.some((id) => wanted.has(id))) found.push('APPROVERS');
    for (const source of tier.sources)
      if (source.people.some((p) => wanted.has(p.aadObjectId.toLowerCase()) || (p.upn && wanted.has(p.upn))))
        found.push(source.source);
  }
  return [...new Set(found)];
}

/** Why nobody is on call, in words, for the refusal before any card. */
export function explainNobodyOnCall(tier: OnCallTier): string {
  const reasons = tier.sources.map((s) => `${s.source} gave nobody${s.note ? ` (${s.note})` : ''}`);
  return `Nobody is on call to approve it right now: ${reasons.join('; ')}.`;
}
