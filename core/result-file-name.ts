// The file name a result download carries: `<device>-<script>-transcript.json` for a RunScript's transcript, the
// collected file's own name (+ `.gz` when Defender gzipped it) for a GetFile. Pure, shared by cards and downloads.
import type { LiveResponseRequest } from './request.js';

/** Characters Windows, macOS or Linux refuse in a file name, control characters, and the quote of the header. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters must not reach a file name.
const UNSAFE = /[\u0000-\u001f\u007f<>:"/\\|?*]+/g;

/** A name any file system accepts: unsafe characters become `_`, no leading dots, at most 120 characters. */
export function safeFileName(name: string): string {
  const cleaned = name
    .replace(UNSAFE, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  const cut = cleaned.length > 120 ? cleaned.slice(cleaned.length - 120) : cleaned;
  return cut || 'result';
}

/** The device's short name: the first label of its DNS name, or the machine id when Defender gave no name. */
function deviceLabel(request: Pick<LiveResponseRequest, 'device'>): string {
  const dns = request.device.computerDnsName.trim();
  return (dns.split('.')[0] ?? '') || request.device.machineId;
}

/** The last segment of a Windows or POSIX path. */
function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).at(-1) ?? path;
}

/**
 * The download's file name for command `index`. `gzip` says whether the bytes are gzip (GetFile results usually are;
 * the name says so only when they are). A second command of the same script gets `-2`, `-3`… so names never clash.
 */
export function resultFileName(
  request: Pick<LiveResponseRequest, 'device' | 'commands'>,
  index: number,
  gzip = false,
): string {
  const nameOf = (i: number): string => {
    const command = request.commands[i];
    if (command?.type === 'RunScript') {
      const script = command.scriptName.replace(/\.[A-Za-z0-9]{1,4}$/, '');
      return `${deviceLabel(request)}-${script}-transcript.json`;
    }
    if (command?.type === 'GetFile') return baseName(command.path);
    return `${deviceLabel(request)}-result-${i + 1}`;
  };
  const own = nameOf(index);
  const earlier = request.commands.slice(0, index).filter((_, i) => nameOf(i) === own).length;
  const numbered = earlier === 0 ? own : own.replace(/(\.[^.]+)?$/, (ext) => `-${earlier + 1}${ext}`);
  return safeFileName(gzip ? `${numbered}.gz` : numbered);
}

/** `512 bytes`, `1.2 KB`, `34 MB`, `1.1 GB`. */
export function formatByteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
