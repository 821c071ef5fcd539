import { describe, expect, it } from 'vitest';
import { DefenderApiError, parseDefenderError, parseRetryAfter } from './defender-errors.js';
import { redactText, redactUrl } from './redact-url.js';

const body = (code: string, message = 'm', target = 't-1') =>
  JSON.stringify({ error: { code, message, target } });

describe('parseDefenderError', () => {
  it.each([
    [429, 'TooManyRequests', 'throttled', true],
    [400, 'ActiveRequestAlreadyExists', 'busy', false],
    [403, 'DisallowedOperation', 'disallowed', false],
    [403, 'Forbidden', 'unauthorized', false],
    [401, 'Unauthorized', 'unauthorized', false],
    [404, 'ResourceNotFound', 'notFound', false],
    [400, 'InvalidRequestBody', 'badRequest', false],
    [400, 'MissingRequiredParameter', 'badRequest', false],
    [500, 'InternalServerError', 'server', true],
    [503, 'ServiceUnavailable', 'server', true],
  ])('maps %i %s to %s', (status, code, kind, retryable) => {
    const error = parseDefenderError(status, body(code), {});
    expect(error).toBeInstanceOf(DefenderApiError);
    expect(error).toMatchObject({ status, code, kind, retryable, target: 't-1' });
  });

  it('copes with bodies that are not Defender JSON', () => {
    expect(parseDefenderError(502, '<html><body>Bad gateway</body></html>')).toMatchObject({
      kind: 'server',
      code: 'BadGateway',
    });
    expect(parseDefenderError(500, '')).toMatchObject({ kind: 'server', code: 'InternalServerError' });
    const storage = parseDefenderError(
      403,
      '<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code><Message>Server failed\nRequestId:x</Message></Error>',
    );
    expect(storage).toMatchObject({ kind: 'unauthorized', code: 'AuthenticationFailed' });
    expect(storage.message).toContain('Server failed');
  });

  it('reads Retry-After as seconds, as an HTTP date, or from retry-after-ms', () => {
    expect(parseDefenderError(429, body('TooManyRequests'), { 'Retry-After': '12' }).retryAfterMs).toBe(
      12_000,
    );
    const now = Date.parse('2024-05-01T10:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Wed, 01 May 2024 10:00:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '1500', 'retry-after': '2' }))).toBe(1500);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('names the call without its query string and scrubs echoed secrets', () => {
    const error = parseDefenderError(
      403,
      body(
        'Forbidden',
        'denied for https://x.blob.core.windows.net/c/b?sv=1&sig=abc%3D and Bearer eyJabc.def',
      ),
      {},
      { method: 'GET', url: 'https://x.blob.core.windows.net/c/b?se=1&sig=SECRET' },
    );
    expect(error.message).toContain('GET https://x.blob.core.windows.net/c/b');
    expect(error.message).not.toMatch(/sig=|SECRET|eyJabc/);
  });
});

describe('redactUrl', () => {
  it('drops query strings, fragments and user info', () => {
    expect(redactUrl('https://u:p@host/a/b?sig=x#frag')).toBe('https://host/a/b');
    expect(redactUrl("/api/machines?$filter=computerDnsName eq 'x'")).toBe('/api/machines');
    expect(redactText('see http://h/p?sig=1 and sig=2')).toBe('see http://h/p and sig=[redacted]');
  });
});
