// Tests of the help and refusal replies.
import { describe, expect, it } from 'vitest';
import { CHAT_COMMANDS, SEQUENCE_EXAMPLE } from './commands.js';
import { formatInvalid, helpText } from './help-text.js';
import { parseMessage } from './parse-message.js';

describe('helpText', () => {
  it('lists every command with its usage, example, description and aliases', () => {
    const text = helpText();
    for (const spec of CHAT_COMMANDS) {
      expect(text).toContain(`\`${spec.usage}\``);
      expect(text).toContain(`\`${spec.example}\``);
      expect(text).toContain(spec.description);
      for (const alias of spec.aliases ?? []) expect(text).toContain(`\`${alias}\``);
    }
    expect(text).toContain(`\`${SEQUENCE_EXAMPLE}\``);
  });

  it('tells how to read a request’s audit trail', () => {
    expect(helpText()).toContain('- `audit <request id>` — Show who asked, decided and ran a request');
    expect(helpText()).toContain('`audit LR-7K3F9Q`');
  });

  it('shows a device list and a machine tag, each an example the parser reads as a fan-out', () => {
    for (const example of [
      'run collect.ps1 on desktop-test, laptop-22, web02',
      'run collect.ps1 on tag:finance-laptops',
    ]) {
      expect(helpText()).toContain(`\`${example}\``);
      expect(parseMessage(example)).toMatchObject({ kind: 'request', fanOut: expect.anything() });
    }
  });

  it('keeps code spans balanced', () => {
    expect((helpText().match(/`/g) ?? []).length % 2).toBe(0);
  });
});

describe('formatInvalid', () => {
  it('states the problem, an example and where to find more', () => {
    expect(formatInvalid('The device name is missing.', 'run x.ps1 on desktop-test')).toBe(
      "**I couldn't read that:** The device name is missing.\n\nTry: `run x.ps1 on desktop-test`\n\nType `help` for everything I understand.",
    );
  });

  it('cannot be broken out of the example code span', () => {
    expect(formatInvalid('p', 'run `x` on y')).toContain("Try: `run 'x' on y`");
  });
});
