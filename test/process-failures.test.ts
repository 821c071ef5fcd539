// A crash, an unhandled rejection or a Node warning in the running bot comes out as JSON lines (stack inside the
// JSON), never as Node's plain-text stack trace: log shippers parse every line.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/crash-after-logging-setup.ts', import.meta.url));

async function fail(how: string): Promise<{ code: number; lines: string[] }> {
  const result = await run(TSX, [FIXTURE, how]).then(
    (r) => ({ ...r, code: 0 }),
    (error: { stdout: string; stderr: string; code: number }) => error,
  );
  return { code: result.code, lines: `${result.stdout}${result.stderr}`.split('\n').filter(Boolean) };
}

function expectOnlyJson(lines: string[]): Array<Record<string, unknown>> {
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((line) => {
    expect(() => JSON.parse(line), line).not.toThrow();
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe('process failures', () => {
  it('logs an uncaught exception as one JSON line with its stack and exits 1', async () => {
    const { code, lines } = await fail('throw');
    expect(code).toBe(1);
    const [line] = expectOnlyJson(lines);
    expect(line).toMatchObject({ level: 60, msg: 'uncaught exception; exiting', err: { type: 'TypeError' } });
    expect((line!.err as { stack: string }).stack).toMatch(/boom from a timer\n\s+at /);
  });

  it('logs an unhandled rejection as JSON and exits 1, as Node would', async () => {
    const { code, lines } = await fail('reject');
    expect(code).toBe(1);
    const [line] = expectOnlyJson(lines);
    expect(line).toMatchObject({
      msg: 'unhandled rejection; exiting',
      err: { message: 'nobody awaited this' },
    });
  });

  it('logs a Node warning as JSON instead of text on stderr', async () => {
    const { code, lines } = await fail('warn');
    expect(code).toBe(0);
    const [line] = expectOnlyJson(lines);
    expect(line).toMatchObject({ level: 40, msg: 'process warning', err: { message: 'something odd' } });
  });
});
