// Tests of reply text made safe for Teams' Markdown.
import { describe, expect, it } from 'vitest';
import { teamsMarkdown } from './help-text-markdown.js';

describe('teamsMarkdown', () => {
  it('draws placeholders in code spans without angle brackets, which Teams would show as &lt; &gt;', () => {
    expect(teamsMarkdown('- `run <script> [args…] on <device>` — Run a script')).toBe(
      '- `run ‹script› [args…] on ‹device›` — Run a script',
    );
  });

  it('keeps a Windows path outside code spans whole: backslashes doubled, the angle brackets not read as a tag', () => {
    expect(teamsMarkdown('Writes a memory dump to C:\\windows\\TEMP\\<process>.dmp.zip')).toBe(
      'Writes a memory dump to C:\\\\windows\\\\TEMP\\\\‹process›.dmp.zip',
    );
  });

  it('leaves backslashes inside code spans as they are (Markdown shows them literally there)', () => {
    expect(teamsMarkdown('Try: `getfile "C:\\Program Files\\x" from desktop-test`')).toBe(
      'Try: `getfile "C:\\Program Files\\x" from desktop-test`',
    );
  });

  it('keeps bold and code spans as Markdown', () => {
    expect(teamsMarkdown('**Live response library** (2)\n- `a.ps1`: A')).toBe(
      '**Live response library** (2)\n- `a.ps1`: A',
    );
  });
});
