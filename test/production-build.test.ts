// What the container runs, run here without a container: the production build (tsc with tsconfig.build.json and the
// card templates), `node dist/app/main.js` from a directory holding only the build, package.json and node_modules
// (no TypeScript sources, no tsx on the command line), its HEALTHCHECK command, the worker-only mode, and a SIGTERM
// that exits 0 within SHUTDOWN_TIMEOUT.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../app/config.js';
import { freePort } from './support/bot-process.js';
import { REDIS_URL } from './support/start-stack.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** A copy with production dependencies only (`npm ci --omit=dev`), when one was made; else the project's own. */
const NODE_MODULES = process.env.LR_PROD_NODE_MODULES ?? join(ROOT, 'node_modules');

interface Started {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

describe('production build', () => {
  let dir: string;
  const prefix = `lrtest-build-${process.pid}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lr-build-'));
    await run(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(dir, 'dist'),
      ],
      {
        cwd: ROOT,
      },
    );
    await run(process.execPath, ['scripts/copy-build-assets.mjs', join(dir, 'dist')], { cwd: ROOT });
    await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
    await symlink(NODE_MODULES, join(dir, 'node_modules'), 'dir');
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  function start(env: Record<string, string>, args: string[] = []): Started {
    const child = spawn(process.execPath, ['dist/app/main.js', ...args], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL,
        REDIS_PREFIX: prefix,
        APPROVERS: 'alex.lead@contoso.com',
        DEFENDER_ACCESS_TOKEN: 'sim-token',
        // Nothing listens there: these runs start no Defender work.
        DEFENDER_API_URL: 'http://127.0.0.1:9',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (chunk: Buffer) =>
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)),
      );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, lines, exited };
  }

  async function until200(url: string, started: Started): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.lines.join('\n')}`);
      const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${url} never answered 200:\n${started.lines.join('\n')}`);
  }

  const healthcheck = (env: Record<string, string>) =>
    run(process.execPath, ['dist/app/healthcheck.js'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        APPROVERS: 'alex.lead@contoso.com',
        DEFENDER_ACCESS_TOKEN: 'x',
        ...env,
      },
    }).then(
      () => 0,
      (error: { code: number }) => error.code,
    );

  it('holds compiled JavaScript and the card templates, and no tests', async () => {
    const files = await readdir(join(dir, 'dist'), { recursive: true });
    expect(files).toContain(join('app', 'main.js'));
    expect(files).toContain(join('cards', 'templates', 'request-card.json'));
    expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
    expect(files.some((f) => f.startsWith('simulator') || f.startsWith('test'))).toBe(false);
  });

  it('starts with node alone, answers /healthz, passes its healthcheck, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const bot = start({ PORT: String(port), SHUTDOWN_TIMEOUT: '20s' });
    try {
      await until200(`http://127.0.0.1:${port}/healthz`, bot);
      expect(await healthcheck({ PORT: String(port) })).toBe(0);
      bot.child.kill('SIGTERM');
      expect(await bot.exited).toBe(0);
      const logged = bot.lines.map((line) => JSON.parse(line) as { msg: string });
      expect(logged.map((l) => l.msg)).toEqual(expect.arrayContaining(['starting', 'stopping', 'stopped']));
      // Once it has stopped, the healthcheck fails: a container with a dead bot is unhealthy.
      expect(await healthcheck({ PORT: String(port) })).toBe(1);
    } finally {
      bot.child.kill('SIGKILL');
    }
  });

  it('runs workers only with probes on its port, honours LOG_LEVEL, and stops on SIGTERM', async () => {
    const port = await freePort();
    const worker = start({ PORT: String(port), LOG_LEVEL: 'warn' }, ['--worker-only']);
    try {
      await until200(`http://127.0.0.1:${port}/readyz`, worker);
      expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toMatchObject({ workers: 'up' });
      // No Teams endpoint in a worker.
      expect((await fetch(`http://127.0.0.1:${port}/api/messages`, { method: 'POST' })).status).toBe(404);
      expect(await healthcheck({ PORT: String(port) })).toBe(0);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      // LOG_LEVEL=warn: no info lines, and whatever was written is JSON.
      for (const line of worker.lines)
        expect((JSON.parse(line) as { level: number }).level).toBeGreaterThanOrEqual(40);
    } finally {
      worker.child.kill('SIGKILL');
    }
  });

  it('runs HTTP only, without workers, when started with --http-only', async () => {
    const port = await freePort();
    const http = start({ PORT: String(port) }, ['--http-only']);
    try {
      await until200(`http://127.0.0.1:${port}/readyz`, http);
      expect(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).toMatchObject({
        status: 'ready',
        workers: 'not-run-here',
      });
      expect(http.lines.some((line) => line.includes('"msg":"workers started"'))).toBe(false);
      http.child.kill('SIGTERM');
      expect(await http.exited).toBe(0);
    } finally {
      http.child.kill('SIGKILL');
    }
  });

  it('answers a bad configuration with a JSON line naming the setting, and exit code 1', async () => {
    const bad = start({ APPROVERS: '', PORT: '0' });
    expect(await bad.exited).toBe(1);
    const [line] = bad.lines.map((l) => JSON.parse(l) as { level: number; problems: string[] });
    expect(line!.level).toBe(60);
    expect(line!.problems.join()).toMatch(/APPROVERS is required/);
  });
});

describe('container files', () => {
  // The image itself is not built here (no Docker engine); these keep the Dockerfile and compose.yaml running exactly
  // the commands the tests above run.
  it('the Dockerfile runs the tested commands, as a non-root user, with production dependencies only', async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(lastStage).toMatch(/^CMD \["node", "dist\/app\/main\.js"\]$/m);
    expect(lastStage).toMatch(/^HEALTHCHECK .* CMD \["node", "dist\/app\/healthcheck\.js"\]$/m);
    expect(lastStage).toMatch(/^USER node$/m);
    expect(lastStage).toMatch(/COPY --from=production-deps \/app\/node_modules/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/RUN npm run build/);
  });

  it('compose runs Redis with AOF and noeviction, and gives the bot longer than its shutdown timeout', async () => {
    const compose = await readFile(join(ROOT, 'compose.yaml'), 'utf8');
    expect(compose).toMatch(/- --appendonly\n\s+- "yes"/);
    expect(compose).toMatch(/- --maxmemory-policy\n\s+- noeviction/);
    expect(compose).toMatch(/command: \["node", "dist\/app\/main\.js", "--worker-only"\]/);
    expect(compose).toMatch(/command: \["node", "dist\/app\/main\.js", "--http-only"\]/);
    const grace = Number(/stop_grace_period: (\d+)s/.exec(compose)?.[1]);
    expect(grace * 1000).toBeGreaterThan(
      readConfig({ APPROVERS: 'a@b.co', DEFENDER_ACCESS_TOKEN: 'x' }).ops.shutdownTimeoutMs,
    );
  });
});
