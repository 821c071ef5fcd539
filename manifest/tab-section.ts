// The Teams tab in the app package: the "Live response" configurable tab (channels, group chats), the personal
// "My requests" tab, and webApplicationInfo for Teams SSO (id and the App ID URI api://<host>/<id>).
import type { ManifestSection, TeamsManifest } from './build-package.js';

export const tabSection: ManifestSection = (manifest, options) => {
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  const host = new URL(base).host;
  const m = manifest as TeamsManifest & Record<string, unknown>;
  m.configurableTabs = [
    {
      configurationUrl: `${base}/tab/`,
      canUpdateConfiguration: false,
      scopes: ['team', 'groupChat'],
      context: ['channelTab', 'privateChatTab'],
    },
  ];
  m.staticTabs = [
    {
      entityId: 'my-requests',
      name: 'My requests',
      contentUrl: `${base}/tab/`,
      websiteUrl: `${base}/tab/`,
      scopes: ['personal'],
    },
  ];
  // SSO: the tab's token is for this app; TAB_SSO_APP_ID differs from the bot's id only in unusual set-ups.
  m.webApplicationInfo = { id: options.appId, resource: `api://${host}/${options.appId}` };
};
