// Draws the Teams app icons (a shield with a check mark: approval-gated protection) as PNG files:
// `npx tsx manifest/draw-icons.ts` rewrites manifest/color.png (192×192) and manifest/outline.png (32×32).
// Drawn from geometry with node:zlib so the art is ours and needs no browser or image library.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];

/** The manifest's accentColor, #1F4E79, also the color icon's background. */
export const ACCENT: Rgb = [0x1f, 0x4e, 0x79];
const WHITE: Rgb = [0xff, 0xff, 0xff];
// 4×4 samples per pixel smooth the edges; more would not show at these sizes.
const SUBSAMPLES = 4;

/**
 * The shield in unit coordinates (y grows downwards), scaled by `scale` around the centre: a top edge rising
 * to a central peak, straight sides, then sides curving in to a point.
 */
function insideShield(x: number, y: number, scale: number): boolean {
  const u = 0.5 + (x - 0.5) / scale;
  const v = 0.5 + (y - 0.5) / scale;
  const halfWidth = 0.3;
  const dx = Math.abs(u - 0.5);
  if (dx > halfWidth) return false;
  const top = 0.1 + 0.08 * (dx / halfWidth) ** 2;
  if (v < top || v > 0.92) return false;
  if (v <= 0.5) return true;
  const t = (v - 0.5) / 0.42;
  return dx <= halfWidth * (1 - t * t);
}

/** The check mark across the shield, as a thick two-segment stroke. */
function insideCheck(x: number, y: number, scale: number, halfThickness: number): boolean {
  const u = 0.5 + (x - 0.5) / scale;
  const v = 0.5 + (y - 0.5) / scale;
  const points: [number, number][] = [
    [0.35, 0.49],
    [0.46, 0.61],
    [0.66, 0.36],
  ];
  for (let i = 0; i < points.length - 1; i++) {
    const [ax, ay] = points[i]!;
    const [bx, by] = points[i + 1]!;
    if (distanceToSegment(u, v, ax, ay, bx, by) <= halfThickness) return true;
  }
  return false;
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const abx = bx - ax;
  const aby = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * abx + (py - ay) * aby) / (abx * abx + aby * aby)));
  return Math.hypot(px - (ax + t * abx), py - (ay + t * aby));
}

/** Renders RGBA pixels by averaging `shade` over sub-pixel samples. */
function render(
  size: number,
  shade: (x: number, y: number) => readonly [number, number, number, number],
): Buffer {
  const pixels = Buffer.alloc(size * size * 4);
  const samples = SUBSAMPLES * SUBSAMPLES;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SUBSAMPLES; sy++) {
        for (let sx = 0; sx < SUBSAMPLES; sx++) {
          const [sr, sg, sb, sa] = shade(
            (px + (sx + 0.5) / SUBSAMPLES) / size,
            (py + (sy + 0.5) / SUBSAMPLES) / size,
          );
          // Premultiplied, so transparent samples do not darken the edge colour.
          r += sr * sa;
          g += sg * sa;
          b += sb * sa;
          a += sa;
        }
      }
      const offset = (py * size + px) * 4;
      pixels[offset] = a === 0 ? 0 : Math.round(r / a);
      pixels[offset + 1] = a === 0 ? 0 : Math.round(g / a);
      pixels[offset + 2] = a === 0 ? 0 : Math.round(b / a);
      pixels[offset + 3] = Math.round((a / samples) * 255);
    }
  }
  return pixels;
}

/** 192×192, full-bleed accent background, white shield, check mark in the accent colour. */
export function drawColorIcon(size = 192): Buffer {
  const scale = 0.78;
  const pixels = render(size, (x, y) => {
    if (insideShield(x, y, scale) && !insideCheck(x, y, scale, 0.05)) return [...WHITE, 1];
    return [...ACCENT, 1];
  });
  return encodePng(size, size, pixels);
}

/** 32×32, white on transparent as Teams requires: a solid shield with the check mark cut out. */
export function drawOutlineIcon(size = 32): Buffer {
  const scale = 1.0;
  const pixels = render(size, (x, y) =>
    insideShield(x, y, scale) && !insideCheck(x, y, scale, 0.065) ? [...WHITE, 1] : [...WHITE, 0],
  );
  return encodePng(size, size, pixels);
}

/** Encodes 8-bit RGBA pixels as a PNG (colour type 6, no interlace, filter 0 on every row). */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** PNG's CRC-32 (node:zlib only has one from Node 20.15 on, and the project allows 20.11). */
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const color = fileURLToPath(new URL('./color.png', import.meta.url));
  const outline = fileURLToPath(new URL('./outline.png', import.meta.url));
  writeFileSync(color, drawColorIcon());
  writeFileSync(outline, drawOutlineIcon());
  console.log(`Wrote ${color} and ${outline}`);
}
