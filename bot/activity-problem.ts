// Checks that a body POSTed to /api/messages has what every turn relies on, before botbuilder or the bot reads it:
// a malformed activity gets a 400 naming the missing field instead of a crash in the middle of a turn.

/** The first thing missing from `body` for it to be an activity the bot can answer, or undefined when none is. */
export function activityProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'the body must be a JSON object (a Bot Framework activity) sent as application/json';
  const activity = body as Record<string, unknown>;
  if (!nonEmptyString(activity.type)) return 'type is missing';
  if (!nonEmptyString(activity.serviceUrl) || !isHttpUrl(activity.serviceUrl))
    return 'serviceUrl is missing or not an http(s) URL';
  if (!nonEmptyString(field(activity.conversation, 'id'))) return 'conversation.id is missing';
  // Every Teams activity names its sender; the flows identify requesters and approvers by it.
  if (!nonEmptyString(field(activity.from, 'id'))) return 'from.id is missing';
  return undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
