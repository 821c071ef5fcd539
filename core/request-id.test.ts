// Tests of request ids: shape, alphabet, and how typed ids are read.
import { describe, expect, it } from 'vitest';
import { isRequestId, newRequestId, normaliseRequestId, REQUEST_ID_ALPHABET } from './request-id.js';

describe('newRequestId', () => {
  it('maps the low five bits of each random byte onto Crockford base32', () => {
    const bytes = Uint8Array.from([0, 31, 32 + 7, 255, 18, 200]);
    expect(newRequestId(() => bytes)).toBe('LR-0Z7ZJ8');
  });

  it('makes canonical ids from the real random source', () => {
    for (let i = 0; i < 1000; i++) expect(isRequestId(newRequestId())).toBe(true);
  });

  it('reaches every character of the alphabet and none outside it', () => {
    const seen = new Set<string>();
    for (let b = 0; b < 256; b++) {
      for (const ch of newRequestId(() => new Uint8Array(6).fill(b)).slice(3)) seen.add(ch);
    }
    expect([...seen].sort().join('')).toBe([...REQUEST_ID_ALPHABET].sort().join(''));
    expect(REQUEST_ID_ALPHABET).not.toMatch(/[ILOU]/);
  });

  it('refuses a random source that returns too few bytes', () => {
    expect(() => newRequestId(() => new Uint8Array(3))).toThrow(/3 bytes/);
  });
});

describe('isRequestId and normaliseRequestId', () => {
  it.each(['LR-7K3F9Q', 'LR-000000', 'LR-ZZZZZZ'])('accepts %s', (id) => {
    expect(isRequestId(id)).toBe(true);
    expect(normaliseRequestId(id)).toBe(id);
  });

  it('reads lower case typed ids as the canonical upper case', () => {
    expect(isRequestId('lr-7k3f9q')).toBe(false);
    expect(normaliseRequestId('lr-7k3f9q')).toBe('LR-7K3F9Q');
    expect(normaliseRequestId('Lr-7K3f9Q')).toBe('LR-7K3F9Q');
  });

  it.each([
    '',
    'LR-7K3F9',
    'LR-7K3F9QQ',
    'LR-7K3F9U',
    'LR-7K3F9I',
    'LR-7K3F9O',
    'LR-7K3F9L',
    'XX-7K3F9Q',
    'LR7K3F9Q',
    ' LR-7K3F9Q',
    'lr-7k3f9ſ',
    'LR-7K3F9Ｑ',
  ])('refuses %j', (id) => {
    expect(isRequestId(id)).toBe(false);
    expect(normaliseRequestId(id)).toBeUndefined();
  });
});
