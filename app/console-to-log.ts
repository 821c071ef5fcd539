// Libraries print with console.* (botbuilder writes a refused Bot Framework token's error and stack to stderr, the
// JWT extractor an expired token's): in the bot's process every such print becomes one JSON line of the logger, so
// the output stays JSON lines only, with the turn's ids (core/log-context.ts) like any other line.
import { format } from 'node:util';
import type { Logger } from 'pino';

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug' | 'trace';

const LEVEL: Record<ConsoleMethod, 'info' | 'warn' | 'error' | 'debug'> = {
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
  debug: 'debug',
  trace: 'debug',
};

/** Replaces `console`'s printing methods (of `target`, default the global console) with the logger's. */
export function routeConsoleToLogger(logger: Logger, target: Console = console): void {
  for (const method of Object.keys(LEVEL) as ConsoleMethod[]) {
    const level = LEVEL[method];
    target[method] = (...args: unknown[]) => {
      // An Error goes in `err` (its stack inside the JSON); the rest becomes the message, as console would print it.
      const err = args.find((arg): arg is Error => arg instanceof Error);
      const rest = args.filter((arg) => arg !== err);
      const msg = rest.length > 0 ? format(...rest) : (err?.message ?? '');
      logger[level]({ source: 'console', ...(err ? { err } : {}) }, msg);
    };
  }
}
