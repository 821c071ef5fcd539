// The help reply and the "couldn't read that" reply, in Teams Markdown, built from the command spec.
import { CHAT_COMMANDS, SEQUENCE_EXAMPLE } from './commands.js';
import { inlineCode as code } from './validate-command.js';

/** Everything the bot understands, one line per command, from CHAT_COMMANDS. */
export function helpText(): string {
  const lines = CHAT_COMMANDS.map((spec) => {
    const aliases = spec.aliases?.length ? ` (or ${spec.aliases.map(code).join(', ')})` : '';
    const example = spec.example === spec.usage ? '' : `  \n  e.g. ${code(spec.example)}`;
    return `- ${code(spec.usage)}${aliases} — ${spec.description}${example}`;
  });
  return [
    '**What I understand**',
    lines.join('\n'),
    `**Several commands in one session:** separate them with \`then\` or \`;\` and name the device once at the end:  \n${code(SEQUENCE_EXAMPLE)}`,
    `**Several devices, one approval:** list them, or name a Defender machine tag; each device gets its own pre-flight on the one card, and those that cannot run it are shown and left out (at most FANOUT_MAX_DEVICES, 20 unless your admin changed it):  \n${code('run collect.ps1 on desktop-test, laptop-22, web02')}  \n${code('run collect.ps1 on tag:finance-laptops')}`,
    'The device is a short name, an FQDN or a Defender machine id. Quote a path or argument that contains `then`, `;` or `because`. Nothing runs on a device until an approver approves it.',
  ].join('\n\n');
}

/** The reply to a message the parser refused. */
export function formatInvalid(problem: string, example: string): string {
  return `**I couldn't read that:** ${problem}\n\nTry: ${code(example)}\n\nType \`help\` for everything I understand.`;
}
