// The process logger: JSON lines only (errors carry their stack inside the JSON), with the request and job ids of
// the work in hand, and secrets redacted by path in case anything ever logs them.
import { type Logger, pino, stdSerializers } from 'pino';
import { currentLogContext } from '../core/log-context.js';

/**
 * Level number of audit lines (AUDIT_SINK=stdout) on the log stream: above `fatal`, so any LOG_LEVEL but `silent`
 * keeps them — a SIEM must not lose decisions because someone lowered the log noise.
 */
const AUDIT_LEVEL = 100;

/** Each logger's output stream, for lines that bypass its level (audit lines). */
const streams = new WeakMap<Logger, NodeJS.WritableStream>();

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const stream = destination ?? process.stdout;
  const logger = pino(
    {
      level,
      base: { service: 'lr-bot' },
      // Defined fields only: a job without a request id logs no `requestId: undefined`.
      mixin: () =>
        Object.fromEntries(Object.entries(currentLogContext()).filter(([, value]) => value !== undefined)),
      serializers: { err: stdSerializers.err, error: stdSerializers.err },
      redact: {
        paths: [
          '*.authorization',
          '*.Authorization',
          'headers.authorization',
          '*.accessToken',
          '*.clientSecret',
          '*.MicrosoftAppPassword',
          '*.url',
          '*.sasUrl',
        ],
        censor: '[redacted]',
      },
    },
    stream,
  );
  streams.set(logger, stream);
  return logger;
}

/** Writes `record` as one JSON line on the logger's stream at AUDIT_LEVEL, whatever its level but `silent`. */
export function writeAuditLine(logger: Logger, record: Record<string, unknown>): void {
  if (logger.level === 'silent') return;
  const stream = streams.get(logger) ?? process.stdout;
  stream.write(`${JSON.stringify({ level: AUDIT_LEVEL, time: Date.now(), service: 'lr-bot', ...record })}\n`);
}
