import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { createShutdown } from './shutdown.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('createShutdown', () => {
  it('exits 0 once everything closed, and closes only once however many signals arrive', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    let closes = 0;
    const stop = createShutdown({
      logger,
      timeoutMs: 5_000,
      close: async () => {
        closes++;
      },
      exit: (code) => exits.push(code),
    });
    await Promise.all([stop('SIGTERM'), stop('SIGTERM'), stop('SIGINT')]);
    expect(closes).toBe(1);
    expect(exits).toEqual([0]);
    expect(lines.map((l) => l.msg)).toEqual(['stopping', 'stopped']);
  });

  it('exits 1 when running work does not reach a safe point within the bound, saying so', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    const stop = createShutdown({
      logger,
      timeoutMs: 50,
      close: () => new Promise<void>(() => undefined),
      exit: (code) => exits.push(code),
    });
    await stop('SIGTERM');
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({
      level: 50,
      msg: 'shutdown timed out; exiting with work unfinished',
    });
  });

  it('exits 1 when closing fails, with the error in the JSON line', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    const stop = createShutdown({
      logger,
      timeoutMs: 5_000,
      close: async () => {
        throw new Error('redis gone');
      },
      exit: (code) => exits.push(code),
    });
    await stop('SIGTERM');
    expect(exits).toEqual([1]);
    const failed = lines.find((l) => l.msg === 'shutdown failed') as {
      err: { message: string; stack: string };
    };
    expect(failed.err.message).toBe('redis gone');
    expect(failed.err.stack).toMatch(/Error: redis gone\n\s+at /);
  });
});

describe('createLogger', () => {
  it('honours the level', () => {
    const { lines } = capture();
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger('warn', stream);
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });
});
