// Checks that the Teams app package follows CHAT_COMMANDS, carries the bot id, zips the three files Teams expects
// at the root and is valid against Microsoft's own JSON schema (offline); also that bad settings are reported by
// variable name.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CHAT_COMMANDS } from '../core/commands.js';
import {
  BOT_SCOPES,
  buildManifest,
  MANIFEST_VERSION,
  ManifestError,
  type ManifestOptions,
  readIcons,
  readManifestOptions,
  zipPackage,
} from './build-package.js';
import { drawColorIcon, drawOutlineIcon } from './draw-icons.js';

const APP_ID = '8f2c1d4e-6a3b-4c5d-9e7f-0a1b2c3d4e5f';

const options: ManifestOptions = {
  appId: APP_ID,
  version: '1.2.3',
  publicBaseUrl: 'https://lrbot.contoso.com',
  developer: {
    name: 'Contoso SOC',
    websiteUrl: 'https://lrbot.contoso.com/',
    privacyUrl: 'https://lrbot.contoso.com/privacy',
    termsOfUseUrl: 'https://lrbot.contoso.com/terms',
  },
};

function pngSize(bytes: Uint8Array): { width: number; height: number; colorType: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20), colorType: bytes[25] ?? -1 };
}

describe('buildManifest', () => {
  it('lists CHAT_COMMANDS for every scope, titled by verb', () => {
    const manifest = buildManifest(options);
    const [bot] = manifest.bots;
    expect(bot?.scopes).toEqual([...BOT_SCOPES]);
    expect(bot?.commandLists.map((list) => list.scopes)).toEqual(BOT_SCOPES.map((scope) => [scope]));
    for (const list of bot?.commandLists ?? []) {
      expect(list.commands).toEqual(
        CHAT_COMMANDS.map((c) => ({ title: c.verb, description: c.description })),
      );
    }
  });

  it('offers every command a user can type, audit included, in every scope', () => {
    for (const list of buildManifest(options).bots[0]?.commandLists ?? [])
      expect(list.commands.map((c) => c.title)).toEqual([
        'run',
        'getfile',
        'putfile',
        'status',
        'cancel',
        'audit',
        'scripts',
        'help',
      ]);
  });

  it('sets the bot id, the app id, the version and the valid domain', () => {
    const manifest = buildManifest(options);
    expect(manifest.bots[0]?.botId).toBe(APP_ID);
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.version).toBe('1.2.3');
    expect(manifest.validDomains).toEqual(['lrbot.contoso.com']);
    expect(JSON.stringify(manifest)).not.toContain('${');
  });

  it('uses a separate Teams app id when given one', () => {
    const teamsAppId = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
    const manifest = buildManifest({ ...options, teamsAppId });
    expect(manifest.id).toBe(teamsAppId);
    expect(manifest.bots[0]?.botId).toBe(APP_ID);
  });

  it('shortens command descriptions to the 128 characters Teams allows', () => {
    const long = { verb: 'run', usage: 'run', example: 'run', description: 'x'.repeat(200) };
    const manifest = buildManifest({ ...options, commands: [long] });
    expect(manifest.bots[0]?.commandLists[0]?.commands[0]?.description).toHaveLength(128);
  });

  it('refuses a manifest Teams would reject, saying what is wrong', () => {
    expect(() => buildManifest({ ...options, version: '1.2' })).toThrow(/version must be x\.y\.z/);
    expect(() =>
      buildManifest({ ...options, developer: { ...options.developer, privacyUrl: 'http://x' } }),
    ).toThrow(/developer\.privacyUrl must be an https URL/);
  });
});

describe('the Teams tab in the package', () => {
  const TAB_APP_ID = '7b1d5c3e-9f2a-4e6b-8c4d-1a3e5f7b9d20';

  it("declares the Live response tab for channels and chats and My requests for personal use, on the bot's host", () => {
    const manifest = buildManifest(options);
    expect(manifest.configurableTabs).toEqual([
      {
        configurationUrl: 'https://lrbot.contoso.com/tab/',
        canUpdateConfiguration: false,
        scopes: ['team', 'groupChat'],
        context: ['channelTab', 'privateChatTab'],
      },
    ]);
    expect(manifest.staticTabs).toEqual([
      {
        entityId: 'my-requests',
        name: 'My requests',
        contentUrl: 'https://lrbot.contoso.com/tab/',
        websiteUrl: 'https://lrbot.contoso.com/tab/',
        scopes: ['personal'],
      },
    ]);
    // Teams loads tab pages only from validDomains.
    expect(manifest.validDomains).toEqual(['lrbot.contoso.com']);
  });

  it("signs the tab in with the bot's app id when TAB_SSO_APP_ID is not set", () => {
    const read = readManifestOptions({
      MicrosoftAppId: APP_ID,
      PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
    });
    expect(buildManifest(read).webApplicationInfo).toEqual({
      id: APP_ID,
      resource: `api://lrbot.contoso.com/${APP_ID}`,
    });
  });

  it('signs the tab in with TAB_SSO_APP_ID, the audience the bot verifies, when it is set', () => {
    const read = readManifestOptions({
      MicrosoftAppId: APP_ID,
      PUBLIC_BASE_URL: 'https://lrbot.contoso.com:8443',
      TAB_SSO_APP_ID: TAB_APP_ID.toUpperCase(),
    });
    const manifest = buildManifest(read);
    expect(manifest.webApplicationInfo).toEqual({
      id: TAB_APP_ID,
      resource: `api://lrbot.contoso.com:8443/${TAB_APP_ID}`,
    });
    // The bot itself keeps its own id.
    expect(manifest.bots[0]?.botId).toBe(APP_ID);
    expect(manifest.validDomains).toEqual(['lrbot.contoso.com']);
  });

  it('names TAB_SSO_APP_ID when it is not a GUID', () => {
    expect(() =>
      readManifestOptions({
        MicrosoftAppId: APP_ID,
        PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
        TAB_SSO_APP_ID: 'api://lrbot.contoso.com/x',
      }),
    ).toThrow(/TAB_SSO_APP_ID must be the Entra application \(client\) id/);
  });
});

describe('readManifestOptions', () => {
  it('names MicrosoftAppId and gives an example when it is missing or not a GUID', () => {
    expect(() => readManifestOptions({})).toThrow(ManifestError);
    expect(() => readManifestOptions({})).toThrow(
      /MicrosoftAppId is not set.*e\.g\. MicrosoftAppId=[0-9a-f-]{36}/,
    );
    expect(() => readManifestOptions({ MicrosoftAppId: 'lr-bot' })).toThrow(/MicrosoftAppId must be a GUID/);
  });

  it('points the website, privacy and terms links at the pages the bot serves on PUBLIC_BASE_URL', () => {
    const read = readManifestOptions(
      { MicrosoftAppId: APP_ID, PUBLIC_BASE_URL: 'https://lrbot.contoso.com/' },
      { version: '0.1.0' },
    );
    expect(read).toMatchObject({
      appId: APP_ID,
      version: '0.1.0',
      publicBaseUrl: 'https://lrbot.contoso.com',
    });
    expect(read.developer).toMatchObject({
      websiteUrl: 'https://lrbot.contoso.com/',
      privacyUrl: 'https://lrbot.contoso.com/privacy',
      termsOfUseUrl: 'https://lrbot.contoso.com/terms',
    });
    expect(buildManifest(read).validDomains).toEqual(['lrbot.contoso.com']);
    const custom = readManifestOptions({
      MicrosoftAppId: APP_ID,
      PUBLIC_BASE_URL: 'https://lrbot.contoso.com',
      DEVELOPER_PRIVACY_URL: 'https://contoso.com/privacy',
    });
    expect(custom.developer.privacyUrl).toBe('https://contoso.com/privacy');
  });

  it('requires PUBLIC_BASE_URL over https', () => {
    expect(() => readManifestOptions({ MicrosoftAppId: APP_ID })).toThrow(
      /PUBLIC_BASE_URL is not set.*e\.g\. PUBLIC_BASE_URL=https:\/\/lrbot\.contoso\.com/,
    );
    expect(() =>
      readManifestOptions({ MicrosoftAppId: APP_ID, PUBLIC_BASE_URL: 'http://lrbot.contoso.com' }),
    ).toThrow(/PUBLIC_BASE_URL must be https/);
  });

  it('defaults the version and checks it', () => {
    const env = { MicrosoftAppId: APP_ID, PUBLIC_BASE_URL: 'https://lrbot.contoso.com' };
    expect(readManifestOptions({ ...env, APP_VERSION: '2.0.1' }).version).toBe('2.0.1');
    expect(() => readManifestOptions({ ...env, APP_VERSION: 'v2' })).toThrow(/APP_VERSION/);
  });
});

describe('zipPackage', () => {
  it('holds manifest.json, color.png and outline.png at the root', () => {
    const manifest = buildManifest(options);
    const files = unzipSync(zipPackage(manifest, readIcons()));
    expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(JSON.parse(strFromU8(files['manifest.json']!))).toEqual(manifest);
    expect(pngSize(files['color.png']!)).toEqual({ width: 192, height: 192, colorType: 6 });
    expect(pngSize(files['outline.png']!)).toEqual({ width: 32, height: 32, colorType: 6 });
  });

  it('ships the icons draw-icons.ts draws', () => {
    const icons = readIcons();
    expect(Buffer.from(icons.color).equals(drawColorIcon())).toBe(true);
    expect(Buffer.from(icons.outline).equals(drawOutlineIcon())).toBe(true);
  });
});

describe("the package against Microsoft's manifest schema", () => {
  // @microsoft/app-manifest ships Microsoft's published schemas, one folder per manifest version.
  const require = createRequire(import.meta.url);
  const schemasDir = join(
    dirname(require.resolve('@microsoft/app-manifest/package.json')),
    'build/json-schemas/teams',
  );
  const versions = readdirSync(schemasDir)
    .filter((name) => /^v\d+\.\d+$/.test(name))
    .map((name) => name.slice(1));
  const newest = versions.sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).at(-1);

  function schemaValidator(version: string) {
    const schema = JSON.parse(
      readFileSync(join(schemasDir, `v${version}`, 'MicrosoftTeams.schema.json'), 'utf8'),
    ) as Record<string, unknown>;
    // The schema declares draft-04, whose keywords it uses (no boolean exclusiveMaximum, no `id`) mean the same
    // in Ajv's default draft-07; Ajv only lacks the draft-04 meta-schema itself.
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, strict: false });
    // ajv-formats is CommonJS: its plugin is both module.exports and its `default`, which types see.
    ajvFormats.default(ajv, ['uri', 'email', 'regex']);
    return ajv.compile(schema);
  }

  it('uses the newest manifest version the schema package ships', () => {
    expect(MANIFEST_VERSION).toBe(newest);
  });

  it("validates the built package's manifest.json", () => {
    const manifest = buildManifest(options);
    const packaged = JSON.parse(strFromU8(unzipSync(zipPackage(manifest, readIcons()))['manifest.json']!));
    const validate = schemaValidator(MANIFEST_VERSION);
    const valid = validate(packaged);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(packaged.$schema).toContain(`/v${MANIFEST_VERSION}/`);
  });

  it('stays valid with the tabs and a separate TAB_SSO_APP_ID', () => {
    const manifest = buildManifest({ ...options, tabSsoAppId: '7b1d5c3e-9f2a-4e6b-8c4d-1a3e5f7b9d20' });
    const packaged = JSON.parse(strFromU8(unzipSync(zipPackage(manifest, readIcons()))['manifest.json']!));
    const validate = schemaValidator(MANIFEST_VERSION);
    validate(packaged);
    expect(validate.errors ?? []).toEqual([]);
    // The schema checks what a tab section must hold: a broken one fails.
    expect(validate({ ...packaged, staticTabs: [{ name: 'My requests', scopes: ['personal'] }] })).toBe(
      false,
    );
    expect(validate({ ...packaged, webApplicationInfo: { resource: 'api://lrbot.contoso.com/x' } })).toBe(
      false,
    );
  });

  it('catches what the schema forbids', () => {
    const validate = schemaValidator(MANIFEST_VERSION);
    const built = buildManifest(options);
    expect(validate({ ...built, manifestVersion: '1.17' })).toBe(false);
    expect(validate({ ...built, name: { ...built.name, short: 'x'.repeat(31) } })).toBe(false);
    const { developer: _developer, ...withoutDeveloper } = built;
    expect(validate(withoutDeveloper)).toBe(false);
  });
});
