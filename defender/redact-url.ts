// Keeps credentials out of logs and error messages: result links carry their only credential (the SAS `sig`)
// in the query string, and Defender URLs can carry user input there, so no query string is ever logged.

/** The URL without its query string, fragment or user info; relative URLs keep their path. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    // Not absolute: a path such as `/api/machines?$filter=...`.
    return url.replace(/[?#].*$/s, '');
  }
}

/**
 * Scrubs free text (an error message, a response body) of query strings in URLs, SAS signatures and bearer
 * tokens, for when a server or library echoes them back.
 */
export function redactText(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s?#"'<>]+)[?#][^\s"'<>]*/gi, '$1')
    .replace(/\bsig=[^&\s"'<>]+/gi, 'sig=[redacted]')
    .replace(/\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi, 'Bearer [redacted]');
}
