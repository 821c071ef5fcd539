// A request for several devices (`… on a, b, c` or `… on tag:<name>`): every device gets its own pre-flight, shown on
// the one approval card, and a device that cannot run it (unknown, ambiguous, Inactive, busy, wrong OS, listed twice)
// is shown and left out rather than dropped; the rest run on one approval (core/fan-out.ts).
import { createCardClock } from '../cards/card-time.js';
import { commandStatusLabel } from '../cards/request-card.js';
import type { LiveResponseCommand } from '../core/commands.js';
import { describeCommand } from '../core/commands.js';
import {
  countFanOut,
  DEFAULT_FANOUT_MAX_DEVICES,
  type FanOut,
  type FanOutTarget,
  fanOutDeviceLabel,
  loadChildren,
  summaryLine,
} from '../core/fan-out.js';
import { newRequest } from '../core/new-request.js';
import type { FanOutTarget as TypedTargets } from '../core/parse-message.js';
import type { LiveResponseRequest, Person } from '../core/request.js';
import { newRequestId } from '../core/request-id.js';
import type { Machine } from '../defender/types.js';
import type { ChatTurn } from './chat-turn.js';
import type { FlowDeps } from './handle-message.js';
import { postNewRequest } from './handle-message.js';
import { namedTier, type OnCallAnswer } from './on-call-now.js';
import {
  byName,
  type Checked,
  checkLibrary,
  checkNotBusy,
  deviceFacts,
  type ResolvedDevice,
  resolveDevice,
} from './preflight.js';

/** A list longer than FANOUT_MAX_DEVICES is refused before anything is looked up. */
export function checkFanOutSize(typed: TypedTargets, max: number): Checked<null> {
  if (typed.kind === 'tag' || typed.names.length <= max) return { ok: true, value: null };
  return {
    ok: false,
    message: `That names ${typed.names.length} devices; one request runs on at most ${max} (FANOUT_MAX_DEVICES). Nothing was requested: split the list into requests of up to ${max} devices.`,
  };
}

/** The reply to a tag with more devices than one request may take. */
function tagTooBig(tag: string, count: number, max: number): string {
  return `Defender has ${count} devices tagged **${tag}**; one request runs on at most ${max} (FANOUT_MAX_DEVICES). Nothing was requested: name the devices instead (\`… on pc1, pc2\`), up to ${max} at a time, or ask an admin to use a narrower tag.`;
}

/** Why a resolved device is left out of the fan-out, or undefined when it is in. */
function exclusionOf(
  resolved: ResolvedDevice,
  commands: LiveResponseCommand[],
  deps: {
    library: Awaited<ReturnType<FlowDeps['library']>>;
    active: Awaited<ReturnType<FlowDeps['activeActions']>>;
  },
): string | undefined {
  const machine: Machine = resolved.machine;
  if (machine.healthStatus && machine.healthStatus !== 'Active')
    return `${machine.healthStatus} in Defender (last seen ${machine.lastSeen ?? 'unknown'}): it would not pick up a live response`;
  const fits = checkLibrary(commands, deps.library, machine);
  if (!fits.ok) return oneLine(fits.message);
  const busy = checkNotBusy(deps.active, machine);
  if (!busy.ok) return oneLine(busy.message);
  return undefined;
}

/** Pre-flight messages are written for a reply: a row on the card takes their first paragraph, without markdown. */
function oneLine(message: string): string {
  return (message.split('\n\n')[0] ?? message)
    .replace(/\*\*|`/g, '')
    .replace(/:?\n- /g, (sep) => (sep.startsWith(':') ? ': ' : '; '))
    .trim();
}

export async function createFanOutRequest(
  turn: ChatTurn,
  parsed: { commands: LiveResponseCommand[]; reason?: string; device: string },
  typed: TypedTargets,
  deps: FlowDeps,
  asked: { onCall: Extract<OnCallAnswer, { ok: true }>; approvers: Person[] },
): Promise<void> {
  const max = deps.fanOutMaxDevices ?? DEFAULT_FANOUT_MAX_DEVICES;
  const library = await deps.library();
  // A script or file missing from the library is missing for every device: the whole request is refused.
  const inLibrary = checkLibrary(parsed.commands, library);
  if (!inLibrary.ok) return turn.reply(inLibrary.message);
  const commands = inLibrary.value;

  // Each name resolves on its own (the device finder batches them into as few Defender calls as it can).
  let resolved: Array<{ name: string; device: Checked<ResolvedDevice> }>;
  if (typed.kind === 'tag') {
    const machines = byName(await deps.defender.findMachines({ tag: typed.tag }));
    if (machines.length === 0)
      return turn.reply(
        `Defender has no device tagged **${typed.tag}**. Check the tag in the Defender portal (Devices → Manage tags); tags are matched as written. Nothing was requested.`,
      );
    if (machines.length > max) return turn.reply(tagTooBig(typed.tag, machines.length, max));
    resolved = machines
      .sort((a, b) => a.machine.computerDnsName.localeCompare(b.machine.computerDnsName))
      .map((device) => ({ name: device.machine.computerDnsName, device: { ok: true, value: device } }));
  } else {
    resolved = await Promise.all(
      typed.names.map(async (name) => ({
        name,
        device: await resolveDevice(deps.findDevice, deps.defender, name),
      })),
    );
  }

  const active = await deps.activeActions();
  const seen = new Map<string, string>();
  const targets: FanOutTarget[] = resolved.map(({ name, device }) => {
    if (!device.ok) return { name, excluded: oneLine(device.message) };
    const facts = deviceFacts(device.value);
    const twin = seen.get(facts.machineId);
    if (twin) return { name, device: facts, excluded: `the same device as ${twin}` };
    seen.set(facts.machineId, name);
    const excluded = exclusionOf(device.value, commands, { library, active });
    return excluded ? { name, device: facts, excluded } : { name, device: facts };
  });
  if (targets.every((t) => t.excluded))
    return turn.reply(
      `None of the devices can run it, so nothing was requested:\n${targets.map((t) => `- **${t.name}**: ${t.excluded}`).join('\n')}`,
    );

  // Each included device's request id is fixed now, so creating it at approval (or again) is idempotent.
  const childIds = new Set<string>();
  for (const target of targets.filter((t) => !t.excluded)) {
    let id = newRequestId();
    while (childIds.has(id) || (await deps.requests.get(id))) id = newRequestId();
    childIds.add(id);
    target.childId = id;
  }
  const fanOut: FanOut = {
    source: typed.kind === 'tag' ? { kind: 'tag', tag: typed.tag } : { kind: 'devices' },
    targets,
  };
  const { onCall, approvers } = asked;
  const now = deps.clock.now();
  await postNewRequest(turn, deps, (id) => ({
    ...newRequest({
      id,
      tenantId: turn.tenantId,
      conversationId: turn.conversationId,
      conversationRef: turn.conversationRef,
      requester: turn.from,
      device: fanOutDeviceLabel(fanOut),
      commands,
      ...(parsed.reason ? { reason: parsed.reason } : {}),
      approvers,
      ...(onCall.tiers[0] ? { onCall: namedTier(onCall.tiers[0], approvers) } : {}),
      now,
      approvalTimeoutMs: deps.approvalTimeoutMs,
    }),
    fanOut,
  }));
}

/** `status <id>` of a fan-out: the summary, then every device with its state (the card may show only some). */
export async function fanOutStatusText(
  parent: LiveResponseRequest,
  deps: Pick<FlowDeps, 'requests' | 'clock'>,
): Promise<string> {
  const children = await loadChildren(deps.requests, parent);
  const clock = createCardClock(new Date(deps.clock.now()));
  const decision = parent.decision
    ? ` — ${parent.decision.kind === 'approved' ? 'approved' : 'rejected'} by ${parent.decision.by.name} at ${clock.format(parent.decision.at)}`
    : '';
  const head = `**${parent.id}** — ${parent.commands.map(describeCommand).join(' then ')} on ${parent.device.computerDnsName}${decision}`;
  const summary =
    parent.decision?.kind === 'approved' ? `\n\n${summaryLine(countFanOut(parent, children))}` : '';
  const rows = (parent.fanOut?.targets ?? []).map((target) => {
    const name = target.device?.computerDnsName ?? target.name;
    if (target.excluded) return `- \`${name}\`: left out — ${target.excluded}`;
    const child = target.childId ? children.get(target.childId) : undefined;
    if (!child)
      return `- \`${name}\`: ${parent.state === 'AwaitingApproval' ? 'will run once approved' : parent.state.toLowerCase()}`;
    const commandsText = child.commands
      .map((c, i) => `${describeCommand(c)} (${commandStatusLabel(child, i)})`)
      .join(', ');
    const exit = child.progress.find((p) => p.transcript)?.transcript?.exitCode;
    return `- \`${name}\` **${child.id}**: ${child.state}${exit === undefined || exit === null ? '' : `, exit code ${exit}`} — ${commandsText}`;
  });
  return `${head}${summary}\n\n${rows.join('\n')}`;
}
