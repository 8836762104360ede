// The NIfTI cases of issue 12: gzip integrity (CRC32, ISIZE, members, trailing data, output cap)
// and header fields that place or size the voxels (vox_offset, dims, bitpix), each refused with
// a message naming the file and the field before anything is allocated from it.
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, gunzip } from '../src/io/gunzip.js';
import { readNifti } from '../src/io/nifti.js';

const DATA = '../shared/data';
const HAVE_DATA = existsSync(`${DATA}/nifti-cases`);
const SKIP_NOTE = HAVE_DATA ? '' : ' (SKIPPED: ../shared/data is absent)';

/** standard.nii: 4×5×7 uint8 from byte 352 (492 bytes), little-endian NIfTI-1. */
function standardNii(): Uint8Array {
  const header = new Uint8Array(352);
  const v = new DataView(header.buffer);
  v.setInt32(0, 348, true);
  [3, 4, 5, 7, 1, 1, 1, 1].forEach((d, k) => v.setInt16(40 + 2 * k, d, true));
  v.setInt16(70, 2, true);
  v.setInt16(72, 8, true);
  [1, 1, 1, 1, 1, 1, 1, 1].forEach((p, k) => v.setFloat32(76 + 4 * k, p, true));
  v.setFloat32(108, 352, true);
  header.set([0x6e, 0x2b, 0x31, 0], 344);
  const file = new Uint8Array(352 + 140);
  file.set(header);
  for (let i = 0; i < 140; i++) file[352 + i] = i;
  return file;
}

const setU32 = (b: Uint8Array, at: number, x: number): void => new DataView(b.buffer, b.byteOffset).setUint32(at, x, true);

describe('gzip: every member checked, output capped by the header', () => {
  const nii = standardNii();
  const gz = new Uint8Array(gzipSync(nii));

  it('reads a clean stream, and one split into several members, to the same voxels', () => {
    const whole = readNifti(gz, 'a.nii.gz');
    const split = new Uint8Array([...gzipSync(nii.subarray(0, 100)), ...gzipSync(nii.subarray(100, 400)), ...gzipSync(nii.subarray(400))]);
    expect(Array.from(readNifti(split, 'split.nii.gz').data)).toEqual(Array.from(whole.data));
    expect(Array.from(whole.data)).toEqual(Array.from(nii.subarray(352)));
  });

  it('a wrong CRC32 is refused', () => {
    const bad = gz.slice();
    bad[bad.length - 8] ^= 1;
    expect(() => readNifti(bad, 'crc.nii.gz')).toThrow(/^crc\.nii\.gz: corrupt gzip data: CRC32 mismatch: the data gives 0x[0-9a-f]{8}, the trailer says 0x[0-9a-f]{8}$/);
  });

  it('a changed voxel inside the compressed data is caught by the CRC even when it still inflates', () => {
    // A stored (uncompressed) deflate block: flipping a data byte keeps the stream decodable.
    const stored = new Uint8Array(gzipSync(nii, { level: 0 }));
    stored[stored.length - 20] ^= 0x40;
    expect(() => readNifti(stored, 'flip.nii.gz')).toThrow('flip.nii.gz: corrupt gzip data: CRC32 mismatch');
  });

  it('a wrong ISIZE is refused, and a huge one is not allocated', () => {
    const bad = gz.slice();
    setU32(bad, bad.length - 4, 0xffffffff); // claims 4 GiB
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readNifti(bad, 'isize.nii.gz')).toThrow('isize.nii.gz: corrupt gzip data: ISIZE mismatch: the data is 492 bytes, the trailer says 4294967295 (mod 2^32)');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('a second member with a bad trailer is refused and named', () => {
    const second = new Uint8Array(gzipSync(nii.subarray(400)));
    second[second.length - 7] ^= 0xff;
    const joined = new Uint8Array([...gzipSync(nii.subarray(0, 400)), ...second]);
    expect(() => readNifti(joined, 'two.nii.gz')).toThrow(/^two\.nii\.gz: corrupt gzip data: CRC32 mismatch: .* \(member 2\)$/);
  });

  it('bytes after the last member that are not a member are refused', () => {
    const trailing = new Uint8Array([...gz, 0, 0, 0, 0]);
    expect(() => readNifti(trailing, 'tail.nii.gz')).toThrow('tail.nii.gz: corrupt gzip data: 4 bytes after the last gzip member are not another member (trailing garbage)');
  });

  it('a stream cut anywhere is refused as truncated', () => {
    for (const keep of [11, 30, gz.length - 9, gz.length - 1]) {
      expect(() => readNifti(gz.subarray(0, keep), 'cut.nii.gz')).toThrow(/^cut\.nii\.gz: (corrupt gzip data: .*\(truncated\)|truncated: the voxel data needs 140 bytes)/);
    }
  });

  it('a gzip bomb behind a small header is refused once its output passes what the header describes', () => {
    const plain = new Uint8Array(nii.length + (64 << 20));
    plain.set(nii);
    const bomb = new Uint8Array(gzipSync(plain, { level: 9 }));
    expect(bomb.length).toBeLessThan(100_000); // 64 MiB of zeros in about 65 kB
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readNifti(bomb, 'bomb.nii.gz')).toThrow(
      'bomb.nii.gz: the gzip data decompresses to more than 1049068 bytes, what the header describes (vox_offset 352 + 140 voxels of uint8) and 1 MiB after it',
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 << 20); // the cap (1 MiB + 492 bytes), not 64 MiB
  });

  it('a gzip stream that is not a NIfTI file is refused after inflating only its first bytes', () => {
    const notNifti = new Uint8Array(gzipSync(new Uint8Array(64 << 20).fill(7)));
    expect(() => readNifti(notNifti, 'zeros.nii.gz')).toThrow('zeros.nii.gz: not a NIfTI or Analyze file: sizeof_hdr');
  });

  it('the inflater refuses malformed deflate data with a reason', () => {
    const header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    expect(() => gunzip(new Uint8Array([...header, 0x07, 0, 0, 0, 0, 0, 0, 0, 0]), 'x.gz', 100, 'the limit'))
      .toThrow('x.gz: corrupt gzip data: invalid block type 3');
    expect(() => gunzip(new Uint8Array([0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 3]), 'y.gz', 100, 'the limit'))
      .toThrow('y.gz: corrupt gzip data: unknown compression method 9 (only deflate, 8, exists)');
    // A stored block whose LEN and NLEN disagree.
    expect(() => gunzip(new Uint8Array([...header, 0x01, 5, 0, 0, 0, 1, 2, 3, 4, 5]), 'z.gz', 100, 'the limit'))
      .toThrow('z.gz: corrupt gzip data: invalid stored block (LEN and NLEN disagree)');
  });

  it('inflates what zlib writes, at every level, with codes longer than the lookup table', () => {
    // Byte k appears about 2^-k as often: Huffman codes up to 15 bits for the rare bytes.
    const skewed = Uint8Array.from({ length: 300_000 }, (_, i) => Math.min(255, Math.clz32(((i * 2654435761) >>> 0) | 1)));
    for (const level of [0, 1, 6, 9]) {
      expect(gunzip(new Uint8Array(gzipSync(skewed, { level })), 's.gz', skewed.length, 'its size')).toEqual(skewed);
    }
  });

  it('an incomplete code-length code is refused, as zlib does', () => {
    // BFINAL 1, BTYPE 2, HLIT 0, HDIST 0, HCLEN 15, then three 2-bit code-length codes (of four slots).
    const bits: number[] = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    for (const sym of [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]) bits.push(...(sym === 0 || sym === 15 || sym === 18 ? [0, 1, 0] : [0, 0, 0]));
    const deflate = new Uint8Array(Math.ceil(bits.length / 8) + 8);
    bits.forEach((b, i) => (deflate[i >> 3] |= b << (i & 7)));
    expect(() => gunzip(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, ...deflate]), 'c.gz', 100, 'the limit'))
      .toThrow('c.gz: corrupt gzip data: invalid code-length code (incomplete)');
  });

  it('crc32 matches the published check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('header fields that place or size the voxels', () => {
  const withHeader = (edit: (v: DataView) => void): Uint8Array => {
    const b = standardNii();
    edit(new DataView(b.buffer));
    return b;
  };

  it('vox_offset NaN, ±Inf, negative, inside the header or past the end of the file', () => {
    for (const bad of [NaN, -Infinity, Infinity, -352, 100]) {
      const b = withHeader((v) => v.setFloat32(108, bad, true));
      expect(() => readNifti(b, 'v.nii')).toThrow(
        `v.nii: vox_offset is ${Math.floor(bad)}, inside the header or not a number (a single-file NIfTI keeps its voxels from byte 352 on)`,
      );
      expect(() => readNifti(new Uint8Array(gzipSync(b)), 'v.nii.gz')).toThrow(`v.nii.gz: vox_offset is ${Math.floor(bad)}`);
    }
    expect(() => readNifti(withHeader((v) => v.setFloat32(108, 1e9, true)), 'far.nii')).toThrow(
      'far.nii: truncated: the voxel data needs 140 bytes from offset 1000000000 (140 voxels of uint8), but the data ends at byte 492',
    );
  });

  it('dims whose product is too large are refused before any allocation', () => {
    const b = withHeader((v) => [4, 32767, 32767, 32767, 32767].forEach((d, k) => v.setInt16(40 + 2 * k, d, true)));
    expect(() => readNifti(b, 'huge.nii')).toThrow('huge.nii: dim = [4, 32767, 32767, 32767, 32767, 1, 1, 1] describes more than 2147483647 voxels, the most a volume may have');
    expect(() => readNifti(withHeader((v) => v.setInt16(44, -5, true)), 'neg.nii')).toThrow('neg.nii: dim[2] is -5: every dimension must be at least 1');
  });

  it('a huge dims claim in a small gzip file is refused as truncated without allocating it', () => {
    const b = withHeader((v) => [3, 2048, 2048, 256].forEach((d, k) => v.setInt16(40 + 2 * k, d, true)));
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readNifti(new Uint8Array(gzipSync(b)), 'claims.nii.gz')).toThrow(
      'claims.nii.gz: truncated: the voxel data needs 1073741824 bytes from offset 352 (1073741824 voxels of uint8), but the data ends at byte 492',
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('voxel sizes and the affine must be finite', () => {
    expect(() => readNifti(withHeader((v) => v.setFloat32(80, NaN, true)), 'px.nii')).toThrow('px.nii: pixdim[1] is NaN: voxel sizes must be finite numbers');
    const sform = withHeader((v) => {
      v.setInt16(254, 1, true);
      v.setFloat32(280, Infinity, true);
    });
    expect(() => readNifti(sform, 'sf.nii')).toThrow('sf.nii: the voxel-to-world affine is not finite: check srow_x/y/z (sform)');
  });

  it('bitpix must agree with the datatype', () => {
    expect(() => readNifti(withHeader((v) => v.setInt16(72, 16, true)), 'bp.nii')).toThrow('bp.nii: bitpix is 16, but datatype uint8 (code 2) has 8 bits per voxel');
  });

  it.skipIf(!HAVE_DATA)(`vox_offset of an .hdr/.img pair: NaN, −Inf and negative are refused${SKIP_NOTE}`, () => {
    const hdr = readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`);
    const img = readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.img`);
    for (const bad of [NaN, -Infinity, -16]) {
      const h = new Uint8Array(hdr);
      new DataView(h.buffer).setFloat32(108, bad, true);
      expect(() => readNifti(h, 'ras.hdr', img)).toThrow(`ras.hdr: vox_offset is ${Math.floor(bad)}, expected a whole number of bytes ≥ 0 (where the voxels start in the .img)`);
    }
  });
});
