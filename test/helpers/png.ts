/**
 * A minimal PNG reader for looking at screenshots in tests: 8-bit RGB or RGBA, not interlaced (what
 * Chromium writes). Returns the pixels so a test can ask which colours a picture holds.
 */
import { inflateSync } from 'node:zlib';

export interface Png {
  width: number;
  height: number;
  /** RGB triples, row by row. */
  rgb(x: number, y: number): [number, number, number];
}

export function readPng(buf: Buffer): Png {
  if (buf.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? px[y * stride + i - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const v = line[i]!;
      px[y * stride + i] = (filter === 0 ? v : filter === 1 ? v + a : filter === 2 ? v + b : filter === 3 ? v + ((a + b) >> 1) : v + paeth) & 0xff;
    }
  }
  return { width, height, rgb: (x, y) => [px[y * stride + x * channels]!, px[y * stride + x * channels + 1]!, px[y * stride + x * channels + 2]!] };
}

/** How many pixels have exactly the colour `#rrggbb`. */
export function countColour(png: Png, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) {
    const [pr, pg, pb] = png.rgb(x, y);
    if (pr === r && pg === g && pb === b) n++;
  }
  return n;
}

const rgbOf = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
const same = (png: Png, x: number, y: number, [r, g, b]: [number, number, number]) => {
  const [pr, pg, pb] = png.rgb(x, y);
  return pr === r && pg === g && pb === b;
};

/** The first row holding at least `minCount` pixels of colour `#rrggbb` (-1: none). */
export function firstRowWith(png: Png, hex: string, minCount: number): number {
  const c = rgbOf(hex);
  for (let y = 0; y < png.height; y++) {
    let n = 0;
    for (let x = 0; x < png.width; x++) if (same(png, x, y, c)) n++;
    if (n >= minCount) return y;
  }
  return -1;
}

/** The columns whose pixels in rows [y0, y1) are all exactly `#rrggbb` (a vertical line there). */
export function columnsOfColour(png: Png, hex: string, y0: number, y1: number): number[] {
  const c = rgbOf(hex);
  const out: number[] = [];
  for (let x = 0; x < png.width; x++) {
    let all = y1 > y0;
    for (let y = y0; y < y1 && all; y++) all = same(png, x, y, c);
    if (all) out.push(x);
  }
  return out;
}

/** Pixels darker than `max` (each of r, g, b below it) in the box [x0, x1) x [y0, y1): ink. */
export function darkPixels(png: Png, x0: number, y0: number, x1: number, y1: number, max = 160): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(png.height, y1); y++) for (let x = Math.max(0, x0); x < Math.min(png.width, x1); x++) {
    const [pr, pg, pb] = png.rgb(x, y);
    if (pr < max && pg < max && pb < max) n++;
  }
  return n;
}
