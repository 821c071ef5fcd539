// `npm run build:tab`: bundles the tab page (tab-main.ts with teams-js and Fluent UI) with esbuild into dist/tab/.
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const TAB_OUT_DIR = join(here, '..', 'dist', 'tab');

/** Builds the page into `outDir`; returns the bundle's size in bytes. */
export async function buildTab(outDir = TAB_OUT_DIR): Promise<{ jsBytes: number; cssBytes: number }> {
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  await build({
    entryPoints: [join(here, 'tab-main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'edge110', 'safari16', 'firefox110'],
    outfile: join(outDir, 'assets', 'tab.js'),
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(here, 'tab.css'), join(outDir, 'assets', 'tab.css'));
  return {
    jsBytes: statSync(join(outDir, 'assets', 'tab.js')).size,
    cssBytes: statSync(join(outDir, 'assets', 'tab.css')).size,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await buildTab();
  process.stdout.write(
    `tab bundle: dist/tab/assets/tab.js ${sizes.jsBytes} bytes, tab.css ${sizes.cssBytes} bytes\n`,
  );
}
