// Where a card's download buttons lead: the bot's /download link, or with sign-in downloads (DOWNLOAD_MODE=sso)
// the Teams deep link to the tab at the request.
import { describe, expect, it } from 'vitest';
import { fixtureOptions, fixtureRequest } from './fixtures.js';
import { renderRequestCard } from './request-card.js';

function downloadUrls(card: unknown): string[] {
  return [
    ...JSON.stringify(card).matchAll(/"type":"Action\.OpenUrl","title":"Download result","url":"([^"]+)"/g),
  ].map((match) => match[1]!);
}

describe('download buttons', () => {
  const request = fixtureRequest('Succeeded');

  it('point at the bot’s /download link by default', () => {
    const urls = downloadUrls(renderRequestCard(request, fixtureOptions({ viewer: 'everyone' })));
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^https:\/\/[^/]+\/download\/LR-7K3F9Q\/\d+\//);
  });

  it('open the tab at the request in Teams when sign-in downloads are on', () => {
    const tabDeepLink = (id: string) => `https://teams.microsoft.com/l/entity/app/my-requests?label=${id}`;
    const card = renderRequestCard(request, fixtureOptions({ viewer: 'everyone', tabDeepLink }));
    const urls = downloadUrls(card);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls)
      expect(url).toBe('https://teams.microsoft.com/l/entity/app/my-requests?label=LR-7K3F9Q');
    expect(JSON.stringify(card)).not.toContain('/download/');
  });
});
