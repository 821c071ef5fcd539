// Restores package-lock.json entries for other platforms' optional packages (`npm run lockfile:complete`).
// A registry mirror that lacks some of them (e.g. a tool's Android or Windows binary) makes `npm install` leave
// them out of the lock, and then `npm ci` refuses the lock as out of sync. Listing them as optional, with their
// platform, lets `npm ci` skip them on every machine as it does with a complete lock.
import { readFileSync, writeFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  optionalDependencies?: Record<string, string>;
}

const PLATFORMS = ['android', 'darwin', 'win32', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'linux'];
const CPUS = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el'];

/** The os/cpu a platform package is for, read from its name (e.g. `@rollup/rollup-linux-arm64-musl`). */
export function platformOf(name: string): { os?: string[]; cpu?: string[] } {
  const parts = name.split('/').pop()?.split('-') ?? [];
  const os = PLATFORMS.find((p) => parts.includes(p));
  const cpu = CPUS.find(
    (c) => parts.includes(c) || parts.includes(`${c}eabihf`) || parts.includes(`${c}eabi`),
  );
  return { ...(os ? { os: [os] } : {}), ...(cpu ? { cpu: [cpu] } : {}) };
}

export function completeLockfile(packages: Record<string, LockEntry>): number {
  let added = 0;
  for (const [path, entry] of Object.entries(packages)) {
    for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
      const nested = `${path ? `${path}/` : ''}node_modules/${name}`;
      const hoisted = `node_modules/${name}`;
      if (packages[nested] || packages[hoisted]) continue;
      packages[hoisted] = { version: spec.replace(/^[\^~=]/, ''), optional: true, ...platformOf(name) };
      added++;
    }
  }
  return added;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] ?? 'package-lock.json';
  const lock = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, LockEntry> };
  const added = completeLockfile(lock.packages);
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  process.stdout.write(`${file}: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}\n`);
}
