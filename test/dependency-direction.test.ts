// The direction of dependencies (STYLE.md) is kept by Biome's noRestrictedImports overrides in biome.json: these tests
// run Biome on probe files laid out like the project, so a rule that stopped matching would fail here.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

/** Runs only the import rule over `dir` and returns its findings by file. */
async function restrictedImports(dir: string): Promise<Array<{ path: string; message: string }>> {
  const result = await run(
    BIOME,
    ['lint', '--only=style/noRestrictedImports', '--reporter=json', '--max-diagnostics=none', '.'],
    { cwd: dir },
  ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const report = JSON.parse(result.stdout) as { diagnostics: Diagnostic[] };
  return report.diagnostics
    .filter((d) => d.category === 'lint/style/noRestrictedImports')
    .map((d) => ({ path: d.location.path.replace(/\\/g, '/'), message: d.message }));
}

describe('dependency direction', () => {
  let dir: string;
  const probes: Record<string, string> = {
    // Violations.
    'core/uses-defender.ts': "import type { MachineAction } from '../defender/types.js';",
    'core/uses-jobs.ts': "import { QUEUES } from '../jobs/job-names.js';",
    'core/uses-app.ts': "import { readConfig } from '../app/config.js';",
    'core/uses-flows.ts': "import { handleMessage } from '../flows/handle-message.js';",
    'core/uses-bot.ts': "import { LrBot } from '../bot/lr-bot.js';",
    'cards/uses-bot.ts': "import { LrBot } from '../bot/lr-bot.js';",
    'cards/uses-jobs.ts': "import { QUEUES } from '../jobs/job-names.js';",
    'jobs/uses-test.ts': "import { startStack } from '../test/support/start-stack.js';",
    'bot/uses-simulator.ts': "import { createSimulatedTenant } from '../simulator/tenant.js';",
    'app/uses-bench.ts': "import { runBench } from '../bench/run-bench.js';",
    'defender/uses-simulator.ts': "import { createSimulatedTenant } from '../simulator/tenant.js';",
    // Allowed: edges use the core, cards use the core, tests and the bench use anything.
    'jobs/uses-core.ts': "import { applyEvent } from '../core/request-machine.js';",
    'defender/uses-core.ts': "import type { LiveResponseRequest } from '../core/request.js';",
    'cards/uses-core.ts': "import type { LiveResponseRequest } from '../core/request.js';",
    'core/uses-core.ts': "import { applyEvent } from './request-machine.js';",
    'jobs/probe.test.ts': "import { startStack } from '../test/support/start-stack.js';",
    'bench/uses-simulator.ts': "import { createSimulatedTenant } from '../simulator/tenant.js';",
    'test/uses-jobs.ts': "import { QUEUES } from '../jobs/job-names.js';",
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lr-deps-'));
    const config = JSON.parse(await readFile(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
    delete config.$schema;
    await writeFile(join(dir, 'biome.json'), JSON.stringify(config));
    for (const [path, line] of Object.entries(probes)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), `${line}\nexport const probe = 1;\n`);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails an import that points the wrong way, naming the rule that was broken', async () => {
    const found = await restrictedImports(dir);
    const byPath = new Map(found.map((f) => [f.path, f.message]));
    expect([...byPath.keys()].sort()).toEqual(
      [
        'app/uses-bench.ts',
        'bot/uses-simulator.ts',
        'cards/uses-bot.ts',
        'cards/uses-jobs.ts',
        'core/uses-app.ts',
        'core/uses-bot.ts',
        'core/uses-defender.ts',
        'core/uses-flows.ts',
        'core/uses-jobs.ts',
        'defender/uses-simulator.ts',
        'jobs/uses-test.ts',
      ].sort(),
    );
    expect(byPath.get('core/uses-defender.ts')).toMatch(/core\/ must not import an edge/);
    expect(byPath.get('cards/uses-jobs.ts')).toMatch(/cards\/ must not import bot\/ or jobs\//);
    expect(byPath.get('jobs/uses-test.ts')).toMatch(/must not import test\/, bench\/ or simulator\//);
  });

  it('finds no wrong-way import in the project itself', async () => {
    expect(await restrictedImports(ROOT)).toEqual([]);
  });
});
