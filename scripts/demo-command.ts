// The commands `npm run demo` reads from its terminal: ask as the responder, approve or reject as the on-call lead,
// list, help, quit.
import { normaliseRequestId } from '../core/request-id.js';

export type DemoCommand =
  | { kind: 'ask'; text: string }
  | { kind: 'approve'; requestId?: string }
  | { kind: 'reject'; requestId?: string; reason?: string }
  | { kind: 'list' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'unknown'; text: string };

export const DEMO_COMMAND_HELP = [
  '  ask <message>                 send <message> to @LR Bot in the "Incident bridge" chat as Riley Analyst',
  '  approve [LR-XXXXXX]           approve the latest request awaiting approval (or the one named), as Alex Lead',
  '  reject [LR-XXXXXX] [reason]   reject it, with an optional reason, as Alex Lead',
  '  list                          the requests of this demo and their states',
  '  help                          this list',
  '  quit                          stop the bot, the simulator and the playground (or press Ctrl-C)',
].join('\n');

/**
 * Reads one terminal line. The first word after the verb counts as a request id only when it looks like one,
 * so `reject not needed any more` is a reason, not an unknown id.
 */
export function parseDemoCommand(line: string): DemoCommand {
  const words = line.trim().split(/\s+/).filter(Boolean);
  const [verb = '', ...rest] = words;
  const requestId = rest[0] ? normaliseRequestId(rest[0]) : undefined;
  const afterId = requestId ? rest.slice(1) : rest;
  switch (verb.toLowerCase()) {
    case '':
      return { kind: 'empty' };
    case 'ask': {
      // The message as typed after the verb, spacing and quotes kept: the bot parses it.
      const text = line.trim().slice(verb.length).trim();
      return text ? { kind: 'ask', text } : { kind: 'unknown', text: line.trim() };
    }
    case 'approve':
    case 'a':
      if (afterId.length > 0) return { kind: 'unknown', text: line.trim() };
      return requestId ? { kind: 'approve', requestId } : { kind: 'approve' };
    case 'reject':
    case 'r': {
      const reason = afterId.join(' ');
      return {
        kind: 'reject',
        ...(requestId ? { requestId } : {}),
        ...(reason ? { reason } : {}),
      };
    }
    case 'list':
    case 'ls':
    case 'status':
      return { kind: 'list' };
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
    case 'q':
      return { kind: 'quit' };
    default:
      return { kind: 'unknown', text: line.trim() };
  }
}
