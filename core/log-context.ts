// Fields every log line written while handling one thing (a job, a turn) should carry — the request id, the job id —
// without threading a child logger through every call: the logger reads them from here.
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogContext = Readonly<Record<string, string | number | undefined>>;

const storage = new AsyncLocalStorage<Record<string, string | number | undefined>>();

/** Runs `fn` with `fields` added to the current context (nested contexts keep the outer fields). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/**
 * Adds `fields` to the innermost context from here on, for what is learnt half-way (a Teams turn that has just
 * created its request): every later line of the same turn or job carries them, its error handler's included. Outside
 * any context it does nothing.
 */
export function addLogContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** The fields of the innermost context, or an empty object outside any. */
export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
