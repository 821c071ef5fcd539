// Parses the duration (`500ms`, `10s`, `1m`, `1h`, `1d`) and rate (`count/duration`) forms used in configuration.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface Rate {
  count: number;
  durationMs: number;
}

/** `10s` → 10000. Returns null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(text);
  if (!match) return null;
  const value = Number(match[1]) * (UNIT_MS[match[2]!.toLowerCase()] ?? Number.NaN);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : null;
}

/** `100/1m,1500/1h` → [{count:100,durationMs:60000},{count:1500,durationMs:3600000}]; null when malformed. */
export function parseRates(text: string): Rate[] | null {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 0) return null;
  const rates: Rate[] = [];
  for (const part of parts) {
    const match = /^(\d+)\s*\/\s*(.+)$/.exec(part);
    if (!match) return null;
    const count = Number(match[1]);
    const durationMs = parseDuration(match[2]!);
    if (!Number.isInteger(count) || count < 1 || durationMs === null) return null;
    rates.push({ count, durationMs });
  }
  return rates;
}

/** 90000 → `1m 30s`, for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].filter(Boolean).join(' ') || '0s';
}
