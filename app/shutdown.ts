// How the process ends: SIGTERM/SIGINT stop taking work and close within a bounded time; crashes and Node's own
// warnings are logged as JSON lines like everything else instead of plain-text stack traces on stderr.
import type { Logger } from 'pino';

export interface ShutdownOptions {
  logger: Logger;
  /** Stops taking work, lets running jobs reach a safe point and closes Redis. */
  close: () => Promise<void>;
  /** Past this the process exits anyway (code 1): jobs still running are taken over by another worker once their lock expires. */
  timeoutMs: number;
  exit: (code: number) => void;
}

/** Returns the shutdown to run on a signal: once, bounded by `timeoutMs`; exit 0 when everything closed in time. */
export function createShutdown(options: ShutdownOptions): (reason: string) => Promise<void> {
  let started: Promise<void> | undefined;
  return (reason) => {
    started ??= (async () => {
      options.logger.info({ reason, timeoutMs: options.timeoutMs }, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      });
      const outcome = await Promise.race([
        options.close().then(
          () => 'closed' as const,
          (error: unknown) => {
            options.logger.error({ err: error }, 'shutdown failed');
            return 'failed' as const;
          },
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout')
        options.logger.error(
          { timeoutMs: options.timeoutMs },
          'shutdown timed out; exiting with work unfinished',
        );
      else options.logger.info({ outcome }, 'stopped');
      options.exit(outcome === 'closed' ? 0 : 1);
    })();
    return started;
  };
}

/**
 * Routes what Node would print as text to the logger. An uncaught exception — or an unhandled rejection, which Node
 * raises as one — leaves the process in an unknown state: it is logged and the process exits with code 1 (state
 * lives in Redis and jobs are retried, so a restart is safe).
 */
export function logProcessFailures(logger: Logger, exit: (code: number) => void): void {
  process.on('uncaughtException', (error, origin) => {
    logger.fatal(
      { err: error, origin },
      origin === 'unhandledRejection' ? 'unhandled rejection; exiting' : 'uncaught exception; exiting',
    );
    exit(1);
  });
  // Node's default warning listener writes text to stderr; replace it with a JSON line.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ err: warning }, 'process warning'));
}
