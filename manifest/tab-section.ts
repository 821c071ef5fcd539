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
  // SSO: Teams asks Entra for a token of this app, with this App ID URI as audience; the bot verifies exactly that
  // audience (web/sso-verifier.ts), so both come from TAB_SSO_APP_ID, the bot's own id only when it is not set.
  const ssoAppId = options.tabSsoAppId ?? options.appId;
  m.webApplicationInfo = { id: ssoAppId, resource: `api://${host}/${ssoAppId}` };
};
