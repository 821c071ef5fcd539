// Builds the Teams app package (`npm run manifest`): fills manifest.template.json from the environment and
// CHAT_COMMANDS, validates it, and zips manifest.json, color.png and outline.png into
// manifest/build/lr-bot-teams-app.zip for upload in Teams or the Developer Portal. build-package.test.ts also
// validates the result against Microsoft's JSON schema for MANIFEST_VERSION, offline.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { CHAT_COMMANDS, type ChatCommandSpec } from '../core/commands.js';
import template from './manifest.template.json' with { type: 'json' };
import { tabSection } from './tab-section.js';

/** The scopes the bot is installed in; each gets its own command list, as the manifest schema asks. */
export const BOT_SCOPES = ['team', 'groupChat', 'personal'] as const;
export type BotScope = (typeof BOT_SCOPES)[number];

export const PACKAGE_FILE_NAME = 'lr-bot-teams-app.zip';

/**
 * The manifest schema version: the newest one @microsoft/app-manifest ships a JSON schema for (its
 * build/json-schemas/teams/v<version>/MicrosoftTeams.schema.json), so `npm test` can check the package offline.
 */
export const MANIFEST_VERSION = '1.30';
export const MANIFEST_SCHEMA_URL = `https://developer.microsoft.com/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`;

// Limits from the Teams manifest schema.
const MAX_COMMANDS_PER_LIST = 10;
const MAX_COMMAND_TITLE = 32;
const MAX_COMMAND_DESCRIPTION = 128;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EXAMPLE_GUID = '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f';

export interface ManifestOptions {
  /** The bot's Microsoft App ID (Entra app registration), a GUID. */
  appId: string;
  /** The Teams app id. Default: the bot's app id, which keeps one id per bot. */
  teamsAppId?: string;
  /** The Entra app the tab's SSO tokens are for (`TAB_SSO_APP_ID`). Default: the bot's app id. */
  tabSsoAppId?: string;
  /** Semantic version `x.y.z`; raise it for every upload of a changed package. */
  version: string;
  /** The https address the bot is reached on (`PUBLIC_BASE_URL`); its host becomes the manifest's validDomains. */
  publicBaseUrl: string;
  developer: {
    name: string;
    websiteUrl: string;
    privacyUrl: string;
    termsOfUseUrl: string;
  };
  /** Default CHAT_COMMANDS. */
  commands?: readonly ChatCommandSpec[];
  /** Further parts of the app (tabs, SSO), applied after the built-in ones and before validation. */
  sections?: readonly ManifestSection[];
}

/** Adds one part of the app to the filled template (e.g. the bot's command lists, or tabs). */
export type ManifestSection = (manifest: TeamsManifest, options: ManifestOptions) => void;

export interface ManifestCommand {
  title: string;
  description: string;
}

export interface ManifestCommandList {
  scopes: BotScope[];
  commands: ManifestCommand[];
}

/** The manifest as this project writes it; the template holds the fields not listed. */
export interface TeamsManifest {
  $schema: string;
  manifestVersion: string;
  version: string;
  id: string;
  developer: ManifestOptions['developer'];
  name: { short: string; full: string };
  description: { short: string; full: string };
  icons: { color: string; outline: string };
  accentColor: string;
  bots: {
    botId: string;
    scopes: string[];
    supportsFiles: boolean;
    isNotificationOnly: boolean;
    commandLists: ManifestCommandList[];
  }[];
  validDomains: string[];
  [key: string]: unknown;
}

/** A problem with the settings or the manifest, worded as what to change. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** Each scope gets the same commands, as CHAT_COMMANDS describes them. */
const botCommandLists: ManifestSection = (manifest, options) => {
  const commands = (options.commands ?? CHAT_COMMANDS).map(toManifestCommand);
  for (const bot of manifest.bots) {
    bot.commandLists = BOT_SCOPES.map((scope) => ({ scopes: [scope], commands }));
  }
};

/** Teams opens links and pages of these hosts inside the client: the bot's public address. */
const publicDomain: ManifestSection = (manifest, options) => {
  const host = new URL(options.publicBaseUrl).hostname;
  if (!manifest.validDomains.includes(host)) manifest.validDomains.push(host);
};

const BUILT_IN_SECTIONS: readonly ManifestSection[] = [botCommandLists, publicDomain, tabSection];

/** Fills the template and applies the sections; pure. Throws ManifestError listing every problem found. */
export function buildManifest(options: ManifestOptions): TeamsManifest {
  const values: Record<string, string> = {
    MANIFEST_SCHEMA_URL,
    MANIFEST_VERSION,
    MicrosoftAppId: options.appId,
    TEAMS_APP_ID: options.teamsAppId ?? options.appId,
    APP_VERSION: options.version,
    DEVELOPER_NAME: options.developer.name,
    DEVELOPER_WEBSITE_URL: options.developer.websiteUrl,
    DEVELOPER_PRIVACY_URL: options.developer.privacyUrl,
    DEVELOPER_TERMS_URL: options.developer.termsOfUseUrl,
  };
  const manifest = fillPlaceholders(structuredClone(template), values) as TeamsManifest;
  for (const section of [...BUILT_IN_SECTIONS, ...(options.sections ?? [])]) section(manifest, options);
  const problems = validateManifest(manifest);
  if (problems.length > 0) {
    throw new ManifestError(`The Teams manifest is not valid:\n- ${problems.join('\n- ')}`);
  }
  return manifest;
}

function toManifestCommand(spec: ChatCommandSpec): ManifestCommand {
  return { title: spec.verb, description: truncate(spec.description, MAX_COMMAND_DESCRIPTION) };
}

/** Replaces `${NAME}` in every string of the template. */
function fillPlaceholders(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
  }
  if (Array.isArray(value)) return value.map((item) => fillPlaceholders(item, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, fillPlaceholders(item, values)]),
    );
  }
  return value;
}

/** The checks Teams' upload would fail on, as readable problems. */
export function validateManifest(manifest: TeamsManifest): string[] {
  const problems: string[] = [];
  const leftover = JSON.stringify(manifest).match(/\$\{\w+\}/g);
  if (leftover) problems.push(`placeholders left unfilled: ${[...new Set(leftover)].join(', ')}`);
  if (!GUID.test(manifest.id)) problems.push(`id must be a GUID, got "${manifest.id}"`);
  if (!/^\d+\.\d+\.\d+$/.test(manifest.version)) {
    problems.push(`version must be x.y.z (e.g. 1.0.0), got "${manifest.version}"`);
  }
  checkLength(problems, 'name.short', manifest.name.short, 30);
  checkLength(problems, 'name.full', manifest.name.full, 100);
  checkLength(problems, 'description.short', manifest.description.short, 80);
  checkLength(problems, 'description.full', manifest.description.full, 4000);
  checkLength(problems, 'developer.name', manifest.developer.name, 32);
  for (const key of ['websiteUrl', 'privacyUrl', 'termsOfUseUrl'] as const) {
    const url = manifest.developer[key];
    if (!/^https:\/\/\S+$/.test(url)) problems.push(`developer.${key} must be an https URL, got "${url}"`);
  }
  if (!/^#[0-9a-f]{6}$/i.test(manifest.accentColor)) problems.push('accentColor must be #RRGGBB');
  if (manifest.bots.length !== 1) problems.push('exactly one bot is expected');
  for (const bot of manifest.bots) {
    if (!GUID.test(bot.botId)) problems.push(`bots[0].botId must be a GUID, got "${bot.botId}"`);
    if (bot.commandLists.length > BOT_SCOPES.length) problems.push('at most one command list per scope');
    for (const list of bot.commandLists) {
      if (list.commands.length > MAX_COMMANDS_PER_LIST) {
        problems.push(
          `a command list holds at most ${MAX_COMMANDS_PER_LIST} commands, got ${list.commands.length}`,
        );
      }
      for (const command of list.commands) {
        checkLength(problems, `command "${command.title}" title`, command.title, MAX_COMMAND_TITLE);
        checkLength(
          problems,
          `command "${command.title}" description`,
          command.description,
          MAX_COMMAND_DESCRIPTION,
        );
      }
    }
  }
  for (const domain of manifest.validDomains) {
    if (!/^[\w*.-]+$/.test(domain)) problems.push(`validDomains holds host names only, got "${domain}"`);
  }
  return problems;
}

function checkLength(problems: string[], field: string, value: string, max: number): void {
  if (value.length === 0) problems.push(`${field} is empty`);
  if (value.length > max) problems.push(`${field} is ${value.length} characters, at most ${max}`);
}

/** Reads and checks the settings once; `env` is injectable for tests. */
export function readManifestOptions(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { version: string } = { version: '1.0.0' },
): ManifestOptions {
  const appId = env.MicrosoftAppId?.trim() ?? '';
  if (!appId) {
    throw new ManifestError(
      `MicrosoftAppId is not set. Set it to the bot's Microsoft App ID (the Entra app registration's ` +
        `Application (client) ID), e.g. MicrosoftAppId=${EXAMPLE_GUID} npm run manifest, or put it in .env.`,
    );
  }
  if (!GUID.test(appId)) {
    throw new ManifestError(
      `MicrosoftAppId must be a GUID like ${EXAMPLE_GUID}, got "${appId}". Teams only installs bots registered ` +
        'with an app id, so the package cannot be built for anonymous local use.',
    );
  }
  const teamsAppId = env.TEAMS_APP_ID?.trim() || undefined;
  if (teamsAppId && !GUID.test(teamsAppId)) {
    throw new ManifestError(`TEAMS_APP_ID must be a GUID like ${EXAMPLE_GUID}, got "${teamsAppId}".`);
  }
  const tabSsoAppId = env.TAB_SSO_APP_ID?.trim() || undefined;
  if (tabSsoAppId && !GUID.test(tabSsoAppId)) {
    throw new ManifestError(
      `TAB_SSO_APP_ID must be the Entra application (client) id the tab signs in with, a GUID like ${EXAMPLE_GUID}, got "${tabSsoAppId}".`,
    );
  }
  const version = env.APP_VERSION?.trim() || defaults.version;
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new ManifestError(`APP_VERSION must be x.y.z, e.g. APP_VERSION=1.0.3, got "${version}".`);
  }
  const publicBaseUrl = parsePublicBaseUrl(env.PUBLIC_BASE_URL);
  return {
    appId,
    ...(teamsAppId ? { teamsAppId } : {}),
    ...(tabSsoAppId ? { tabSsoAppId: tabSsoAppId.toLowerCase() } : {}),
    version,
    publicBaseUrl,
    // By default the pages the bot itself serves (bot/public-pages.ts).
    developer: {
      name: env.DEVELOPER_NAME?.trim() || 'Security Operations',
      websiteUrl: env.DEVELOPER_WEBSITE_URL?.trim() || `${publicBaseUrl}/`,
      privacyUrl: env.DEVELOPER_PRIVACY_URL?.trim() || `${publicBaseUrl}/privacy`,
      termsOfUseUrl: env.DEVELOPER_TERMS_URL?.trim() || `${publicBaseUrl}/terms`,
    },
  };
}

/** The bot's own setting: an https URL, kept without a trailing slash. */
function parsePublicBaseUrl(value: string | undefined): string {
  const trimmed = value?.trim().replace(/\/+$/, '') ?? '';
  const example = 'e.g. PUBLIC_BASE_URL=https://lrbot.contoso.com';
  if (!trimmed) {
    throw new ManifestError(
      `PUBLIC_BASE_URL is not set. Set it to the https address Teams reaches the bot on (${example}): its host ` +
        'becomes validDomains, and its /privacy and /terms pages the manifest links.',
    );
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ManifestError(`PUBLIC_BASE_URL must be an https URL (${example}), got "${trimmed}".`);
  }
  if (url.protocol !== 'https:') {
    throw new ManifestError(`PUBLIC_BASE_URL must be https (${example}), got "${trimmed}".`);
  }
  return trimmed;
}

export interface PackageIcons {
  color: Uint8Array;
  outline: Uint8Array;
}

/** The zip Teams accepts: the three files at its root. Dated for reproducible bytes. */
export function zipPackage(manifest: TeamsManifest, icons: PackageIcons): Uint8Array {
  const mtime = new Date('2024-01-01T00:00:00Z');
  return zipSync(
    {
      'manifest.json': [strToU8(`${JSON.stringify(manifest, null, 2)}\n`), { mtime }],
      [manifest.icons.color]: [icons.color, { mtime }],
      [manifest.icons.outline]: [icons.outline, { mtime }],
    },
    { level: 9 },
  );
}

export function readIcons(directory = fileURLToPath(new URL('.', import.meta.url))): PackageIcons {
  return {
    color: readFileSync(`${directory}/color.png`),
    outline: readFileSync(`${directory}/outline.png`),
  };
}

function main(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  // A .env beside package.json is read like the bot reads it; variables already set win.
  if (existsSync(`${root}.env`)) process.loadEnvFile(`${root}.env`);
  const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
  const manifest = buildManifest(readManifestOptions(process.env, { version }));
  const outDir = fileURLToPath(new URL('./build/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const target = `${outDir}${PACKAGE_FILE_NAME}`;
  writeFileSync(target, zipPackage(manifest, readIcons()));
  const commands = manifest.bots[0]?.commandLists[0]?.commands.map((c) => c.title).join(', ');
  console.log(`Wrote ${target}\n  app ${manifest.id} v${manifest.version}, bot ${manifest.bots[0]?.botId}`);
  console.log(`  commands: ${commands}\n  validDomains: ${manifest.validDomains.join(', ') || '(none)'}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
