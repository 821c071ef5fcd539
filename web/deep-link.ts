// Teams deep links into the tab. The personal tab ("My requests") opens at a request wherever it was made, so a
// card in any channel or chat can send people there; access is still decided by the API, not by the link.

/** Entity ids of the tabs, as the manifest declares them. */
const TAB_ENTITY_IDS = {
  /** The personal (static) tab. */
  myRequests: 'my-requests',
  /** What the configurable tab saves as its entity id in a channel or chat. */
  liveResponse: 'live-response',
} as const;

/**
 * `https://teams.microsoft.com/l/entity/<app id>/<entity id>?context={"subEntityId":…}` (Microsoft's "Deep link
 * to an application" page); the tab reads the request id back from `context.page.subPageId`.
 */
export function requestDeepLink(teamsAppId: string, requestId: string): string {
  const context = encodeURIComponent(JSON.stringify({ subEntityId: requestId }));
  const label = encodeURIComponent(requestId);
  return `https://teams.microsoft.com/l/entity/${encodeURIComponent(teamsAppId)}/${TAB_ENTITY_IDS.myRequests}?label=${label}&context=${context}`;
}
