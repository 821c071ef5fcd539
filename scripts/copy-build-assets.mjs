// Copies what the compiled bot reads at run time besides JavaScript (the Adaptive Card templates) into the build
// output, keeping the source layout: `node scripts/copy-build-assets.mjs [outDir]`, default dist.
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2] ?? 'dist';
const ASSETS = ['cards/templates'];

for (const asset of ASSETS) {
  if (!existsSync(asset)) throw new Error(`Build asset ${asset} is missing`);
  cpSync(asset, join(outDir, asset), { recursive: true });
}
