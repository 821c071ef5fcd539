/// <reference lib="dom" />
// The tab's calls to the bot's API: every call carries the Teams SSO token; a refused token is fetched once more
// (Teams caches it and renews one that expired) before the tab says sign-in failed.
import type { RequestDetail, RequestRow } from '../web/tab-views.js';

export type { RequestDetail, RequestRow };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface TabApi {
  conversation(conversationId: string): Promise<RequestRow[]>;
  mine(): Promise<{ mine: RequestRow[]; awaitingMyApproval: RequestRow[] }>;
  detail(id: string): Promise<RequestDetail>;
  decide(
    id: string,
    decision: 'approve' | 'reject',
    reason?: string,
  ): Promise<{ ok: boolean; error?: string }>;
  freshLinks(id: string): Promise<void>;
  downloadGrant(id: string, index: number): Promise<{ url: string; fileName: string }>;
}

export function createTabApi(getToken: () => Promise<string>): TabApi {
  async function call<T>(method: string, path: string, body?: unknown, allowConflict = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = await getToken();
      const response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await response.json().catch(() => ({}))) as { error?: string };
      if (response.ok || (allowConflict && response.status === 409)) return json as T;
      if (response.status === 401 && attempt === 0) continue;
      throw new ApiError(json.error ?? `The bot answered ${response.status}.`, response.status);
    }
  }
  return {
    conversation: async (conversationId) =>
      (
        await call<{ requests: RequestRow[] }>(
          'GET',
          `/tab/api/conversations/${encodeURIComponent(conversationId)}/requests`,
        )
      ).requests,
    mine: () => call('GET', '/tab/api/my-requests'),
    detail: (id) => call('GET', `/tab/api/requests/${encodeURIComponent(id)}`),
    decide: (id, decision, reason) =>
      call('POST', `/tab/api/requests/${encodeURIComponent(id)}/decision`, { decision, reason }, true),
    freshLinks: async (id) => {
      await call('POST', `/tab/api/requests/${encodeURIComponent(id)}/fresh-links`);
    },
    downloadGrant: (id, index) =>
      call('POST', `/tab/api/requests/${encodeURIComponent(id)}/downloads/${index}`),
  };
}
