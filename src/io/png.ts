// PNG decoding (for `classify` inputs) and encoding (for overlays), in plain TypeScript. The zlib
// streams go through the standard Compression Streams API ('deflate' is the zlib format), which
// Node ≥ 18, Deno, Bun and browsers all provide, so no dependency is needed.
//
// Decodes every non-interlaced PNG: grey, grey+alpha, RGB, RGBA and palette images at every bit
// depth. Interlaced (Adam7) images are refused with a clear message.

import { crc32 } from './gunzip.js';

export interface Image {
  width: number;
  height: number;
  /** 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Row-major, channel-last, each value in [0, 1]. */
  data: Float32Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

async function inflateZlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data.slice()]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function deflateZlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data.slice()]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The Paeth predictor of the PNG specification. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Reverses the per-row filters in place; returns the raw scanlines without filter bytes. */
function unfilter(data: Uint8Array, rowBytes: number, height: number, bpp: number, fileName: string): Uint8Array {
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (rowBytes + 1)];
    const src = data.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const row = out.subarray(y * rowBytes, (y + 1) * rowBytes);
    const up = y > 0 ? out.subarray((y - 1) * rowBytes, y * rowBytes) : new Uint8Array(rowBytes);
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = up[i];
      const c = i >= bpp ? up[i - bpp] : 0;
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: predictor = paeth(a, b, c); break;
        default: throw new Error(`${fileName}: row ${y} has an unknown PNG filter type ${filter}`);
      }
      row[i] = (src[i] + predictor) & 0xff;
    }
  }
  return out;
}

export async function decodePng(bytes: Uint8Array, fileName: string): Promise<Image> {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) throw new Error(`${fileName}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (let pos = 8; ; ) {
    if (pos + 8 > bytes.length) throw new Error(`${fileName}: truncated PNG (no IEND chunk)`);
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) throw new Error(`${fileName}: truncated PNG (chunk ${type} runs past the end)`);
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      [depth, colorType] = [body[8], body[9]];
      interlace = body[12];
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + length;
  }
  const channelsOf: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  const samples = channelsOf[colorType];
  if (!width || !height || samples === undefined) throw new Error(`${fileName}: missing or invalid IHDR (colour type ${colorType})`);
  if (![1, 2, 4, 8, 16].includes(depth)) throw new Error(`${fileName}: invalid bit depth ${depth}`);
  if (interlace !== 0) throw new Error(`${fileName}: interlaced (Adam7) PNGs are not supported; save the image without interlacing`);
  if (colorType === 3 && !palette) throw new Error(`${fileName}: palette image without a PLTE chunk`);

  const compressed = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((at, c) => (compressed.set(c, at), at + c.length), 0);
  const rowBytes = Math.ceil((width * samples * depth) / 8);
  let inflated: Uint8Array;
  try {
    inflated = await inflateZlib(compressed);
  } catch (e) {
    throw new Error(`${fileName}: corrupt PNG image data (${(e as Error).message})`);
  }
  if (inflated.length < (rowBytes + 1) * height) throw new Error(`${fileName}: PNG image data is shorter than ${width}×${height} needs`);
  const raw = unfilter(inflated, rowBytes, height, Math.max(1, (samples * depth) >> 3), fileName);

  const max = 2 ** depth - 1;
  const sample = (y: number, i: number): number => {
    const row = y * rowBytes;
    if (depth === 16) return (raw[row + 2 * i] << 8) | raw[row + 2 * i + 1];
    if (depth === 8) return raw[row + i];
    const perByte = 8 / depth;
    return (raw[row + Math.floor(i / perByte)] >> (8 - depth * (1 + (i % perByte)))) & max;
  };
  const channels = colorType === 3 ? (transparency ? 4 : 3) : samples;
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (colorType === 3) {
        const k = sample(y, x);
        if (3 * k + 2 >= palette!.length) throw new Error(`${fileName}: palette index ${k} outside the palette`);
        for (let c = 0; c < 3; c++) data[o + c] = palette![3 * k + c] / 255;
        if (transparency) data[o + 3] = (k < transparency.length ? transparency[k] : 255) / 255;
      } else {
        for (let c = 0; c < samples; c++) data[o + c] = sample(y, x * samples + c) / max;
      }
    }
  }
  return { width, height, channels, data };
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit PNG of a grey (1), RGB (3) or RGBA (4) image with values in [0, 1] (clamped). */
export async function encodePng(image: Image): Promise<Uint8Array> {
  const { width, height, channels, data } = image;
  const colorType = ({ 1: 0, 2: 4, 3: 2, 4: 6 } as Record<number, number>)[channels];
  if (colorType === undefined) throw new Error(`encodePng: ${channels} channels; expected 1, 2, 3 or 4`);
  if (data.length !== width * height * channels) throw new Error(`encodePng: ${data.length} values for ${width}×${height}×${channels}`);
  const rowBytes = width * channels;
  const raw = new Uint8Array((rowBytes + 1) * height); // filter type 0 on every row
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < rowBytes; i++) {
      raw[y * (rowBytes + 1) + 1 + i] = Math.round(255 * Math.min(1, Math.max(0, data[y * rowBytes + i])));
    }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, colorType, 0, 0, 0], 8);
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', header), chunk('IDAT', await deflateZlib(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}
