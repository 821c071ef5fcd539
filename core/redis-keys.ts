// Every Redis key the bot uses, built in one place from the deployment's prefix.

export interface RedisKeys {
  request(id: string): string;
  /** Sorted set of request ids in a conversation, by creation time (for `status`). */
  conversation(conversationId: string): string;
  /** Sorted set of request ids with a Defender action that is not final (what the poller polls). */
  inflight(): string;
  /** Sorted set of approved request ids not yet submitted, by approval time (queue position). */
  queue(): string;
  /**
   * Sorted set of request ids the reconciler still watches, by the time of their last change: every change adds its
   * request; the reconciler drops a finished one once its card shows the end and its results are fetched.
   */
  unsettled(): string;
  /** Stream of every audited decision. */
  audit(): string;
  /** List of audit entries for one request. */
  requestAudit(id: string): string;
  /** Hash: Defender session slots held, request id → machine id. */
  sessions(): string;
  /** Which request holds a device. */
  deviceLock(machineId: string): string;
  /** A stored Defender result link (value: the SAS URL), by its opaque id. */
  resultLink(linkId: string): string;
  /** Short-lived caches of Defender lookups. */
  cache(name: string): string;
  /** Card approvers resolved per conversation. */
  approverDirectory(conversationId: string): string;
  /** Per-request lock serialising card updates. */
  cardLock(requestId: string): string;
  /** Fingerprint of the last card sent for a request, with the request version it showed (`<version> <sha>`). */
  cardFingerprint(requestId: string): string;
  /** Prefix for rate limiter keys. */
  limiter(name: string): string;
  /** BullMQ prefix. */
  bullPrefix(): string;
}

export function redisKeys(prefix: string): RedisKeys {
  const k = (...parts: string[]) => [prefix, ...parts].join(':');
  return {
    request: (id) => k('req', id),
    conversation: (conversationId) => k('conv', conversationId.split(';')[0] ?? conversationId),
    inflight: () => k('inflight'),
    queue: () => k('queue'),
    unsettled: () => k('unsettled'),
    audit: () => k('audit'),
    requestAudit: (id) => k('audit', id),
    sessions: () => k('sessions'),
    deviceLock: (machineId) => k('device', machineId),
    resultLink: (linkId) => k('link', linkId),
    cache: (name) => k('cache', name),
    approverDirectory: (conversationId) => k('approvers', conversationId.split(';')[0] ?? conversationId),
    cardLock: (requestId) => k('cardlock', requestId),
    cardFingerprint: (requestId) => k('cardfp', requestId),
    limiter: (name) => k('rl', name),
    bullPrefix: () => k('bull'),
  };
}
