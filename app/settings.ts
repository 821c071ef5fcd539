// The shared rules for reading a block of settings: a blank value takes the default, and a bad one is a problem that
// names the setting with its example. Used by readConfig and each of its parts (Redis, on-call, ops).

export type SettingsTable = Record<string, { readonly default: string; readonly example: string }>;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function settingsReader<T extends SettingsTable>(
  settings: T,
  env: NodeJS.ProcessEnv,
  problems: string[],
): { get: (name: keyof T & string) => string; bad: (name: keyof T & string, what: string) => void } {
  return {
    get: (name) => (env[name] ?? '').trim() || settings[name]!.default,
    bad: (name, what) => {
      problems.push(`${name} ${what}, e.g. ${name}=${settings[name]!.example}`);
    },
  };
}
