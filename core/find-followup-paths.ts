// Files a finished request's script output names on the device (`C:\windows\TEMP\x.dmp.zip`, `/tmp/logs.tar.gz`):
// what its final card offers to collect with one click. Pure: the same text and device always give the same paths.
import type { LiveResponseRequest } from './request.js';
import {
  pathFlavourOf,
  platformFamilyOf,
  validateGetFilePath,
  validatePathForPlatform,
} from './validate-command.js';

/** Most files a card offers to collect. */
export const MAX_FOLLOW_UP_PATHS = 3;

// A drive path: folders may hold spaces (a backslash follows them, so they are plainly part of the path), the file
// name may not unless the path is quoted: in `C:\x\a.txt was copied` only `C:\x\a.txt` is a path.
// A name followed by `:` and more (`v.txt:secret`, `fail.ps1:3`) is a stream or a line number: no match at all.
const WINDOWS_PATH =
  /(?<![\w\\])[A-Za-z]:\\(?:[^\\\r\n\t"'<>|?*:]+\\)*[^\\\r\n\t"'<>|?*: ]+(?![^\r\n\t"'<>|?*: ]|:\S)/g;
// Quoted, the whole text between the quotes is the path, spaces included.
const QUOTED_WINDOWS_PATH = /(["'])([A-Za-z]:\\[^\r\n\t"'<>|?*]+?)\1/g;
// A POSIX path not preceded by a word, `/`, `:` or `.` (URLs `https://host/x`, relative `./x`, `a/b`).
const POSIX_PATH = /(?<![\w/:.~-])\/(?:[\w.@+-]+\/)*[\w.@+-]+/g;
const QUOTED_POSIX_PATH = /(["'])(\/[^\r\n\t"']+?)\1/g;
// What a sentence puts after a path: `…\a.zip.`, `(…\a.zip)`, `…\a.zip,`.
const TRAILING_PUNCTUATION = /[.,;:!?)\]}>]+$/;
// A file name: a name and an extension (`a.zip`, `x.tar.gz`), or a dot file (`.bash_history`). Folders such as
// `C:\Windows\System32` or `/var/log` are left out: GetFile collects files, and a folder would fail on the device.
const FILE_NAME = /^(?:[^.].*\.[A-Za-z0-9_-]{1,16}|\.[^.][^/\\]*)$/;

/** The text a request's commands printed: each RunScript's cleaned output (errors name the script, not its files). */
function outputsOf(request: LiveResponseRequest): string[] {
  return request.commands.flatMap((command, index) => {
    const transcript = command.type === 'RunScript' ? request.progress[index]?.transcript : undefined;
    return transcript?.output ? [transcript.output] : [];
  });
}

/** Paths in `text` in the order they appear; a quoted one first at its place (its unquoted part is no file). */
function candidates(text: string, posix: boolean): string[] {
  const found: { at: number; path: string }[] = [];
  const quoted = posix ? QUOTED_POSIX_PATH : QUOTED_WINDOWS_PATH;
  for (const m of text.matchAll(quoted)) found.push({ at: m.index, path: m[2]! });
  for (const m of text.matchAll(posix ? POSIX_PATH : WINDOWS_PATH))
    found.push({ at: m.index + 0.5, path: m[0].replace(TRAILING_PUNCTUATION, '') });
  return found.sort((a, b) => a.at - b.at).map((f) => f.path);
}

function fileNameOf(path: string): string {
  return path.split(/[\\/]/).at(-1) ?? '';
}

/**
 * Up to `limit` absolute file paths the request's script output names, in the order they appear: each valid for
 * GetFile on the request's device (the same path checks a typed `getfile` gets, for that device's OS), not one the
 * request already collected, each once (Windows paths compared without case, as Windows does).
 */
export function findFollowUpPaths(request: LiveResponseRequest, limit = MAX_FOLLOW_UP_PATHS): string[] {
  const family = platformFamilyOf(request.device.osPlatform);
  const key = (path: string) => (pathFlavourOf(path) === 'windows' ? path.toLowerCase() : path);
  const seen = new Set(
    request.commands.flatMap((c) => (c.type === 'GetFile' ? [key(c.path.replaceAll('/', '\\'))] : [])),
  );
  for (const c of request.commands) if (c.type === 'GetFile') seen.add(key(c.path));
  const paths: string[] = [];
  for (const text of outputsOf(request)) {
    // An unknown OS gets both forms; validatePathForPlatform keeps whichever the device takes.
    const forms = family === 'unknown' ? [false, true] : [family === 'posix'];
    for (const posix of forms) {
      for (const candidate of candidates(text, posix)) {
        if (!FILE_NAME.test(fileNameOf(candidate))) continue;
        const valid = validateGetFilePath(candidate);
        if (!valid.ok) continue;
        const fits = validatePathForPlatform(valid.value, request.device);
        if (!fits.ok || seen.has(key(fits.value))) continue;
        seen.add(key(fits.value));
        paths.push(fits.value);
        if (paths.length >= limit) return paths;
      }
    }
  }
  return paths;
}

/** Whether `path` is one the request's card offers (a click carries the path; the card is never trusted). */
export function isOfferedFollowUp(request: LiveResponseRequest, path: string): boolean {
  return findFollowUpPaths(request).includes(path);
}
