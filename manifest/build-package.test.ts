// Checks that the Teams app package follows CHAT_COMMANDS, carries the bot id, and zips the three files
// Teams expects at the root; also that bad settings are reported by variable name.
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CHAT_COMMANDS } from '../core/commands.js';
import {
  BOT_SCOPES,
  buildManifest,
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
  publicHost: 'lrbot.contoso.com',
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

describe('readManifestOptions', () => {
  it('names MicrosoftAppId and gives an example when it is missing or not a GUID', () => {
    expect(() => readManifestOptions({})).toThrow(ManifestError);
    expect(() => readManifestOptions({})).toThrow(
      /MicrosoftAppId is not set.*e\.g\. MicrosoftAppId=[0-9a-f-]{36}/,
    );
    expect(() => readManifestOptions({ MicrosoftAppId: 'lr-bot' })).toThrow(/MicrosoftAppId must be a GUID/);
  });

  it('takes the host from BOT_PUBLIC_HOST, even written as a URL, and defaults the version', () => {
    const read = readManifestOptions(
      { MicrosoftAppId: APP_ID, BOT_PUBLIC_HOST: 'https://lrbot.contoso.com/api/messages' },
      { version: '0.1.0' },
    );
    expect(read).toMatchObject({ appId: APP_ID, version: '0.1.0', publicHost: 'lrbot.contoso.com' });
    expect(read.developer.privacyUrl).toBe('https://lrbot.contoso.com/privacy');
    expect(readManifestOptions({ MicrosoftAppId: APP_ID, APP_VERSION: '2.0.1' }).version).toBe('2.0.1');
    expect(() => readManifestOptions({ MicrosoftAppId: APP_ID, APP_VERSION: 'v2' })).toThrow(/APP_VERSION/);
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
