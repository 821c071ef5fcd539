// The process logger: JSON lines only (errors carry their stack inside the JSON), with the request and job ids of
// the work in hand, and secrets redacted by path in case anything ever logs them.
import { type Logger, pino, stdSerializers } from 'pino';
import { currentLogContext } from '../core/log-context.js';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
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
    destination ?? process.stdout,
  );
}
