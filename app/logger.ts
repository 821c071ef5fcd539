// The process logger: JSON lines, with secrets redacted by path in case anything ever logs them.
import { type Logger, pino } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'lr-bot' },
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
