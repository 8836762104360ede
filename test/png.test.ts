import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '../src/io/png.js';

/** A hand-assembled PNG, to test the decoder on inputs our own encoder never writes. */
async function rawPng(width: number, height: number, depth: number, colorType: number, rows: number[][], extra: [string, number[]][] = []): Promise<Uint8Array> {
  const crcTable = (bytes: Uint8Array) => {
    let c = 0xffffffff;
    for (const b of bytes) { c ^= b; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; }
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: number[]) => {
    const body = Uint8Array.from([...type].map((ch) => ch.charCodeAt(0)).concat(data));
    const len = [24, 16, 8, 0].map((s) => (data.length >>> s) & 255);
    const crc = crcTable(body);
    return [...len, ...body, ...[24, 16, 8, 0].map((s) => (crc >>> s) & 255)];
  };
  const be32 = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 255);
  const raw = Uint8Array.from(rows.flat());
  const z = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
  return Uint8Array.from([
    137, 80, 78, 71, 13, 10, 26, 10,
    ...chunk('IHDR', [...be32(width), ...be32(height), depth, colorType, 0, 0, 0]),
    ...extra.flatMap(([t, d]) => chunk(t, d)),
    ...chunk('IDAT', [...z]),
    ...chunk('IEND', []),
  ]);
}

describe('PNG', () => {
  it('round-trips grey, RGB and RGBA images through our encoder', async () => {
    for (const channels of [1, 3, 4]) {
      const data = Float32Array.from({ length: 5 * 3 * channels }, (_, i) => (i * 37 % 256) / 255);
      const back = await decodePng(await encodePng({ width: 5, height: 3, channels, data }), 'x.png');
      expect([back.width, back.height, back.channels]).toEqual([5, 3, channels]);
      expect([...back.data]).toEqual([...data]);
    }
  });

  it('undoes all five row filters', async () => {
    // 3×5 grey, one row per filter type; filtered bytes chosen by hand, expected pixels computed here.
    const rows = [[0, 10, 20, 30], [1, 5, 5, 5], [2, 1, 2, 3], [3, 4, 4, 4], [4, 7, 0, 250]];
    const png = await rawPng(3, 5, 8, 0, rows);
    const img = await decodePng(png, 'filters.png');
    const px = [...img.data].map((v) => Math.round(v * 255));
    // row0 (none): 10 20 30; row1 (sub): 5 10 15; row2 (up): 6 12 18;
    // row3 (average): 4+(0+6>>1)=7, 4+(7+12>>1)=13, 4+(13+18>>1)=19; row4 (Paeth) computed below.
    const paeth = (a: number, b: number, c: number) => { const p = a + b - c; const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)]; return pa <= pb && pa <= pc ? a : pb <= pc ? b : c; };
    const r4a = (7 + paeth(0, 7, 0)) & 255;
    const r4b = (0 + paeth(r4a, 13, 7)) & 255;
    const r4c = (250 + paeth(r4b, 19, 13)) & 255;
    expect(px).toEqual([10, 20, 30, 5, 10, 15, 6, 12, 18, 7, 13, 19, r4a, r4b, r4c]);
  });

  it('decodes 16-bit, 1-bit and palette images', async () => {
    const g16 = await decodePng(await rawPng(2, 1, 16, 0, [[0, 0xff, 0xff, 0x80, 0x00]]), 'g16.png');
    expect([...g16.data]).toEqual([1, Math.fround(0x8000 / 0xffff)]);
    const g1 = await decodePng(await rawPng(3, 1, 1, 0, [[0, 0b10100000]]), 'g1.png');
    expect([...g1.data]).toEqual([1, 0, 1]);
    const pal = await decodePng(await rawPng(2, 1, 8, 3, [[0, 1, 0]], [['PLTE', [255, 0, 0, 0, 0, 255]]]), 'pal.png');
    expect([...pal.data].map((v) => v * 255)).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it('refuses broken and unsupported files with the file name', async () => {
    await expect(decodePng(new Uint8Array([1, 2, 3]), 'a.png')).rejects.toThrow('a.png: not a PNG file');
    const good = await encodePng({ width: 2, height: 2, channels: 1, data: new Float32Array(4) });
    await expect(decodePng(good.subarray(0, 40), 'cut.png')).rejects.toThrow(/cut.png: truncated PNG/);
    const interlaced = await rawPng(1, 1, 8, 0, [[0, 0]]);
    interlaced[8 + 8 + 12] = 1; // IHDR interlace byte (the CRC is not checked)
    await expect(decodePng(interlaced, 'i.png')).rejects.toThrow(/i.png: interlaced/);
  });
});
