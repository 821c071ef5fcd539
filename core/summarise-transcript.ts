// Turns a RunScript result file into the short, clean summary a card can carry (pure, no I/O).
import type { TranscriptSummary } from './request.js';

export interface TranscriptLimits {
  /** Most characters of cleaned output kept in the summary. */
  outputChars: number;
  /** Most characters of cleaned errors kept in the summary. */
  errorsChars: number;
}

/** Sized so a handful of commands still fit a 28 KB card with room for everything else. */
export const DEFAULT_TRANSCRIPT_LIMITS: TranscriptLimits = { outputChars: 1500, errorsChars: 800 };

export interface TruncatedText {
  text: string;
  truncated: boolean;
}

// ANSI CSI sequences (PowerShell 7 colours errors); removed whole so no "[31m" debris is left behind.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the sequence being removed.
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]/g;
// NUL padding and every other C0/C1 control except tab and newline; Teams shows them as boxes or drops the text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const STAR_RULE = /^\*{10,}$/;
// Titles of the blocks Start-Transcript writes (PS 5.1 says "Windows PowerShell", PS 7 just "PowerShell";
// -IncludeInvocationHeader adds one "Command start time" block per command).
const BLOCK_TITLE = /^((Windows )?PowerShell transcript (start|end)|Command start time:.*)$/i;
const BANNER_LINE = /^Transcript (started|stopped), output file is /i;
// A header block is a dozen "Key: value" lines; anything longer is not a header, so stop looking for its end.
const MAX_HEADER_LINES = 40;

/**
 * Parses a RunScript result (`{"script_name","exit_code","script_output","script_errors"}`, or the docs' table
 * spelling `name`/`script_error`) and returns the
 * meaningful lines of output and errors, cut to `limits` on a line boundary. Never throws: an unreadable
 * file becomes a summary whose errors say so, because the card must still show something.
 */
export function summariseTranscript(
  raw: Buffer | string,
  limits: TranscriptLimits = DEFAULT_TRANSCRIPT_LIMITS,
): TranscriptSummary {
  const parsed = parseResultFile(raw);
  if (typeof parsed === 'string') {
    const message = `The transcript could not be read: ${parsed}.`;
    return {
      exitCode: null,
      output: '',
      outputBytes: 0,
      outputTruncated: false,
      errors: message,
      errorsBytes: Buffer.byteLength(message, 'utf8'),
      errorsTruncated: false,
    };
  }

  const output = cleanTranscriptText(parsed.output);
  const errors = cleanTranscriptText(parsed.errors);
  const shownOutput = truncateOnLine(output, limits.outputChars);
  const shownErrors = truncateOnLine(errors, limits.errorsChars);
  return {
    exitCode: parsed.exitCode,
    output: shownOutput.text,
    outputBytes: Buffer.byteLength(output, 'utf8'),
    outputTruncated: shownOutput.truncated,
    errors: shownErrors.text,
    errorsBytes: Buffer.byteLength(errors, 'utf8'),
    errorsTruncated: shownErrors.truncated,
  };
}

/** The fields of a RunScript result file, whichever spelling Defender used for them. */
export interface ScriptResultFields {
  scriptName: string | null;
  exitCode: number | null;
  output: string;
  errors: string;
}

/**
 * Microsoft's "Get live response result" page names the fields `name`, `exit_code`, `script_output` and
 * `script_error` in its table, while its example file (and real results) say `script_name` and `script_errors`.
 * Both spellings are read; when a file carries both, the non-empty one wins.
 */
function pickText(record: Record<string, unknown>, ...keys: string[]): string {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}

/** The fields of a RunScript result file, or why it could not be read. */
export function readScriptResult(raw: Buffer | string): ScriptResultFields | string {
  return parseResultFile(raw);
}

/** The fields of the result file, or why it could not be read. */
function parseResultFile(raw: Buffer | string): ScriptResultFields | string {
  const text = decode(raw)
    .replace(/^\ufeff/, '')
    // The file itself can be NUL-padded after the JSON, not only the output inside it.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL padding is what is removed.
    .replace(/[\u0000\s]+$/, '')
    .trimStart();
  if (text === '') return 'the result file is empty';

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'it is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'it is not a script result object';
  }
  const record = value as Record<string, unknown>;
  const scriptName = pickText(record, 'script_name', 'name');
  return {
    scriptName: scriptName === '' ? null : scriptName,
    exitCode: readExitCode(record.exit_code),
    output: pickText(record, 'script_output'),
    errors: pickText(record, 'script_errors', 'script_error'),
  };
}

function decode(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  // Windows tools sometimes write UTF-16 with a BOM; read it rather than show mojibake.
  if (raw.length >= 2 && raw[0] === 0xff && raw[1] === 0xfe) return raw.subarray(2).toString('utf16le');
  return raw.toString('utf8');
}

function readExitCode(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number.parseInt(value, 10);
  return null;
}

/**
 * Removes what is noise to a reader: the Start-Transcript banner and header/footer blocks, NULs and other
 * control characters, colour codes, trailing spaces (Format-Table pads every row) and runs of blank lines.
 */
export function cleanTranscriptText(text: string): string {
  const normalised = text.replace(/\r\n?/g, '\n').replace(ANSI_SEQUENCE, '').replace(CONTROL_CHARS, '');
  const lines = normalised.split('\n').map((line) => line.trimEnd());
  const kept: string[] = [];

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (BANNER_LINE.test(line)) continue;

    const titleAt = STAR_RULE.test(line) && BLOCK_TITLE.test(lines[i + 1] ?? '') ? i + 1 : -1;
    const blockTitle = titleAt >= 0 ? titleAt : BLOCK_TITLE.test(line) ? i : -1;
    if (blockTitle >= 0) {
      i = endOfHeaderBlock(lines, blockTitle);
      continue;
    }
    // A lone rule left over from a block cut short.
    if (STAR_RULE.test(line) && (kept.length === 0 || i === lines.length - 1)) continue;
    // One blank line separates paragraphs; more is padding.
    if (line === '' && (kept.length === 0 || kept[kept.length - 1] === '')) continue;
    kept.push(line);
  }

  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  return kept.join('\n');
}

/** Index of the last line of the header block whose title is at `titleAt`. */
function endOfHeaderBlock(lines: readonly string[], titleAt: number): number {
  const limit = Math.min(lines.length, titleAt + 1 + MAX_HEADER_LINES);
  for (let j = titleAt + 1; j < limit; j++) {
    if (STAR_RULE.test(lines[j] ?? '')) return j;
  }
  // No closing rule: drop the title and the "Key: value" lines that follow it, keep the rest.
  let j = titleAt;
  while (j + 1 < limit && /^[A-Za-z][\w ]*:/.test(lines[j + 1] ?? '')) j++;
  return j;
}

/**
 * Cuts `text` to at most `maxChars`, at the end of a line when one ends in the second half of the budget
 * (so a reader never sees half a line unless a single line is huge), never inside a surrogate pair.
 */
export function truncateOnLine(text: string, maxChars: number): TruncatedText {
  if (text.length <= maxChars) return { text, truncated: false };
  if (maxChars <= 0) return { text: '', truncated: true };

  let cut = text.slice(0, maxChars);
  const lastNewline = cut.lastIndexOf('\n');
  if (lastNewline >= maxChars / 2) {
    cut = cut.slice(0, lastNewline);
  } else if (/[\ud800-\udbff]$/.test(cut)) {
    cut = cut.slice(0, -1);
  }
  return { text: cut.trimEnd(), truncated: true };
}
