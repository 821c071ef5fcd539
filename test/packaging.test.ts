// What the production image installs (`npm ci --omit=dev`) is enough for what it runs (`node dist/…`): production
// code imports production dependencies only, tsx (the development runner behind `npm start`) is a dev dependency the
// image never calls, and the queue dashboard's two packages are one version (one copy of their types).
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface PackageJson {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const readJson = async <T>(path: string): Promise<T> =>
  JSON.parse(await readFile(join(ROOT, path), 'utf8')) as T;

/** The folders `npm run build` compiles into dist/ (tsconfig.build.json's include). */
async function productionFolders(): Promise<string[]> {
  const build = await readJson<{ include: string[] }>('tsconfig.build.json');
  return build.include;
}

async function sourcesIn(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), { recursive: true, withFileTypes: true });
  return entries
    .filter(
      (e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'fixtures.ts',
    )
    .map((e) => join(e.parentPath, e.name));
}

/** `@scope/name` or `name` of a bare import specifier. */
const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

describe('packaging', () => {
  it('production code imports only production dependencies (what npm ci --omit=dev installs)', async () => {
    const pkg = await readJson<PackageJson>('package.json');
    const builtins = new Set(builtinModules);
    const wrong: string[] = [];
    let checked = 0;
    for (const folder of await productionFolders())
      for (const file of await sourcesIn(folder)) {
        const text = await readFile(file, 'utf8');
        // Type-only imports are erased by the compiler: they need nothing at run time.
        for (const [, typeOnly, specifier] of text.matchAll(
          /^import\s+(type\s+)?[^'"]*?from\s+'([^'.][^']*)'/gm,
        )) {
          const name = packageOf(specifier!);
          if (typeOnly || specifier!.startsWith('node:') || builtins.has(name)) continue;
          checked++;
          if (!pkg.dependencies[name]) wrong.push(`${file.slice(ROOT.length)} imports ${specifier}`);
        }
      }
    expect(wrong).toEqual([]);
    // The scan saw the bot's real imports (botbuilder, bullmq, express, ioredis, …), not nothing.
    expect(checked).toBeGreaterThan(20);
  });

  it('keeps tsx a dev dependency: npm start has it after npm ci, the image never runs it', async () => {
    const pkg = await readJson<PackageJson>('package.json');
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(pkg.scripts.start).toBe('tsx app/main.ts');
    expect(pkg.scripts['start:prod']).toBe('node dist/app/main.js');
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const compose = await readFile(join(ROOT, 'compose.yaml'), 'utf8');
    const runs = [
      ...dockerfile.matchAll(/^(?:CMD|HEALTHCHECK.*CMD) (.*)$/gm),
      ...compose.matchAll(/command: (.*)$/gm),
    ];
    expect(runs.length).toBeGreaterThanOrEqual(4);
    for (const [, command] of runs) expect(command).toMatch(/^\["node", "dist\//);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('installs @bull-board/api at the version @bull-board/express is built against', async () => {
    const pkg = await readJson<PackageJson>('package.json');
    const express = await readJson<{ version: string; dependencies: Record<string, string> }>(
      'node_modules/@bull-board/express/package.json',
    );
    const api = await readJson<{ version: string }>('node_modules/@bull-board/api/package.json');
    expect(api.version).toBe(express.dependencies['@bull-board/api']);
    expect(pkg.dependencies['@bull-board/api']).toBe(express.version);
  });
});
