// readNifti against nibabel's reading of every NIfTI / Analyze file under ../shared/data
// (nifti-reference.json), the refusals, and small synthetic files for every scalar datatype.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { axisCodes } from '../src/io/affine.js';
import { readNifti, type NiftiVolume } from '../src/io/nifti.js';
import { readNiftiFile } from '../src/io/nifti-node.js';
import { reportError } from './helpers/report.js';

const DATA = '../shared/data';
const REFERENCE_JSON = `${DATA}/nifti-reference.json`;
const HAVE_DATA = existsSync(REFERENCE_JSON);
const SKIP_NOTE = HAVE_DATA ? '' : ' (SKIPPED: ../shared/data is absent, e.g. in a clone without the shared test files)';

interface NibabelReading {
  shape: number[];
  on_disk_dtype: string;
  affine: number[][];
  zooms: number[];
  qform_code: number;
  sform_code: number;
  axcodes: string[];
  min: number;
  max: number;
  mean: number;
  nan_count: number | null;
  probe: Record<string, number | null>; // null: NaN
  note?: string;
  error?: string;
}

// numpy dtype strings ('>i2', 'int16', 'uint8') as our datatype names.
const NUMPY_NAMES: Record<string, string> = {
  u1: 'uint8', i1: 'int8', i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32', i8: 'int64', u8: 'uint64', f4: 'float32', f8: 'float64',
};
const datatypeName = (numpy: string): string => NUMPY_NAMES[numpy.replace(/^[<>|=]/, '')] ?? numpy;

/** min / max / mean / mean |x| over the non-NaN values, in f64, and the NaN count. */
function stats(data: Float32Array): { min: number; max: number; mean: number; meanAbs: number; nans: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumAbs = 0;
  let nans = 0;
  for (const v of data) {
    if (Number.isNaN(v)) {
      nans++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumAbs += Math.abs(v);
  }
  const n = data.length - nans;
  return { min, max, mean: sum / n, meanAbs: sumAbs / n, nans };
}

// Python's json writes NaN probe values as a bare NaN token, which JSON.parse rejects: read them as null.
const readings: Record<string, NibabelReading> = HAVE_DATA
  ? JSON.parse(readFileSync(REFERENCE_JSON, 'utf8').replace(/:\s*NaN\b/g, ': null'))
  : {};
const volumes = Object.entries(readings).filter(([, r]) => !r.error && !r.note);

describe(`readNifti matches nibabel on every file of ../shared/data${SKIP_NOTE}`, () => {
  it.skipIf(!HAVE_DATA)('the reference lists the expected files', () => {
    expect(volumes.length).toBeGreaterThanOrEqual(48);
  });

  for (const [name, ref] of volumes) {
    it(name, async () => {
      const vol = await readNiftiFile(`${DATA}/${name}`);
      expect(vol.dims).toEqual(ref.shape);
      expect(vol.datatype).toBe(datatypeName(ref.on_disk_dtype));
      expect([vol.qformCode, vol.sformCode]).toEqual([ref.qform_code, ref.sform_code]);
      // pixdim is stored as f32 (f64 in NIfTI-2) and nibabel prints it exactly: equal.
      expect(vol.pixdim).toEqual(ref.zooms);
      expect(axisCodes(vol.affine)).toBe(ref.axcodes.join(''));

      // The json rounds the affine to 6 decimals (±5e-7) and nibabel builds the qform in f32
      // arithmetic (~1e-7 · voxel size); 1e-5 absolute leaves a 10× margin.
      let affineErr = 0;
      ref.affine.flat().forEach((e, k) => (affineErr = Math.max(affineErr, Math.abs(vol.affine[k] - e))));
      reportError('nifti read', 'affine vs nibabel', affineErr, affineErr);
      expect(affineErr, 'affine').toBeLessThanOrEqual(1e-5);

      // nibabel scales in f64; we round that f64 value to f32. Rounding is monotonic, so the
      // extremes and every probed voxel are exactly the f32 rounding of nibabel's values.
      const s = stats(vol.data);
      expect(s.nans).toBe(ref.nan_count);
      expect(s.min).toBe(Math.fround(ref.min));
      expect(s.max).toBe(Math.fround(ref.max));
      let probeErr = 0;
      for (const [index, value] of Object.entries(ref.probe)) {
        const got = vol.data[Number(index)];
        if (value === null) expect(got, `voxel ${index}`).toBeNaN();
        else {
          expect(got, `voxel ${index}`).toBe(Math.fround(value));
          probeErr = Math.max(probeErr, Math.abs(got - value) / Math.max(Math.abs(value), 1e-30));
        }
      }
      reportError('nifti read', 'probe voxels (rel, f32 rounding)', probeErr, probeErr);
      // Each value moves by at most 2⁻²⁴·|x| when rounded to f32, so the mean moves by at most
      // 2⁻²⁴·mean|x|; the 10% extra covers the f64 summation (~1e-9 relative here).
      const meanErr = Math.abs(s.mean - ref.mean);
      reportError('nifti read', 'mean (rel to mean|x|)', meanErr, meanErr / s.meanAbs);
      expect(meanErr, 'mean').toBeLessThanOrEqual(1.1 * 2 ** -24 * s.meanAbs);
    });
  }
});

describe(`readNifti refuses what it cannot read, naming the file and the reason${SKIP_NOTE}`, () => {
  const refusals: [string, RegExp][] = [
    ['nifti-cases/negative/not-nifti.nii',
      /not-nifti\.nii: not a NIfTI or Analyze file: sizeof_hdr \(the first 4 bytes\) reads -1428999419 little-endian and 87282602 big-endian, expected 348 \(NIfTI-1, Analyze\) or 540 \(NIfTI-2\)/],
    ['nifti-cases/nifti2/row_major.dconn.nii', /row_major\.dconn\.nii: CIFTI file \(intent code 3001 "ConnDense"\).*only volumes are read/],
    ['nifti-cases/datatypes/CIT168_rgba32.nii.gz', /CIT168_rgba32\.nii\.gz: datatype RGBA32 \(code 2304\) is not a scalar type/],
    ['nifti-cases/datatypes/ct_perfusion.nii.gz', /ct_perfusion\.nii\.gz: datatype RGB24 \(code 128\) is not a scalar type/],
    ['nifti-cases/datatypes/complex.nii.gz', /complex\.nii\.gz: datatype COMPLEX64 \(code 32\) is not a scalar type/],
  ];
  it.skipIf(!HAVE_DATA)('every refused file of the reference is covered here', () => {
    const refused = Object.entries(readings).filter(([, r]) => r.error || r.note).map(([n]) => n).sort();
    expect(refused).toEqual(refusals.map(([n]) => n).sort());
  });
  for (const [name, message] of refusals) {
    it.skipIf(!HAVE_DATA)(name, async () => {
      await expect(readNiftiFile(`${DATA}/${name}`)).rejects.toThrow(message);
    });
  }

  it.skipIf(!HAVE_DATA)('truncated voxel data', () => {
    const bytes = readFileSync(`${DATA}/nifti-cases/4d/functional.nii`); // 17×21×3×20 int16 from byte 352
    expect(() => readNifti(bytes.subarray(0, bytes.length - 100), 'functional.nii')).toThrow(
      'functional.nii: truncated: the voxel data needs 42840 bytes from offset 352 (21420 voxels of int16), but the data ends at byte 43092',
    );
    expect(() => readNifti(bytes.subarray(0, 200), 'functional.nii')).toThrow(
      'functional.nii: not a NIfTI or Analyze file: 200 bytes, shorter than any header (348)',
    );
  });

  it.skipIf(!HAVE_DATA)('truncated gzip stream', () => {
    const bytes = readFileSync(`${DATA}/nifti-cases/tiny/standard.nii.gz`);
    for (const cut of [1, 4, 8, 20]) {
      expect(() => readNifti(bytes.subarray(0, bytes.length - cut), 'standard.nii.gz')).toThrow(
        /standard\.nii\.gz: corrupt gzip data: .*\(truncated\)/,
      );
    }
  });

  it.skipIf(!HAVE_DATA)('a NIfTI pair header without its .img', async () => {
    const hdr = readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`);
    expect(() => readNifti(hdr, 'ras.hdr')).toThrow('ras.hdr: this header keeps its voxels in a separate .img file');
    const shortImage = readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.img`).subarray(0, 1000);
    expect(() => readNifti(hdr, 'ras.hdr', shortImage)).toThrow('ras.img (the voxels of ras.hdr): truncated');

    const folder = mkdtempSync(join(tmpdir(), 'transseg-nifti-pair-'));
    try {
      copyFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`, join(folder, 'ras.hdr'));
      const stem = join(folder, 'ras');
      await expect(readNiftiFile(`${stem}.hdr`)).rejects.toThrow(
        `${stem}.hdr: the voxels of a .hdr live in its .img, but neither ${stem}.img nor ${stem}.img.gz exists`,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe(`Analyze 7.5 (no magic), read as SPM2 / nibabel do${SKIP_NOTE}`, () => {
  // ras.hdr is a NIfTI-1 pair; blanking everything NIfTI adds after byte 252 (codes, quaternion,
  // srow, magic) turns it into an Analyze 7.5 header over the same .img.
  const analyzeHeader = (origin: number[], scale?: [number, number]): Uint8Array => {
    const hdr = new Uint8Array(readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`));
    hdr.fill(0, 252, 348);
    const v = new DataView(hdr.buffer);
    origin.forEach((o, k) => v.setInt16(253 + 2 * k, o, true));
    if (scale) {
      v.setFloat32(112, scale[0], true);
      v.setFloat32(116, scale[1], true);
    }
    return hdr;
  };
  // nibabel's Spm99AnalyzeHeader.get_origin_affine, written out: x flipped, 1-based origin.
  const expected = (zoom: number[], centre: number[]): number[] => [
    -zoom[0], 0, 0, centre[0] * zoom[0], 0, zoom[1], 0, -centre[1] * zoom[1], 0, 0, zoom[2], -centre[2] * zoom[2], 0, 0, 0, 1,
  ];

  it.skipIf(!HAVE_DATA)('origin field, centre fallback, SPM scale factor', () => {
    const img = readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.img`);
    const pair = readNifti(readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`), 'ras.hdr', img);
    const zoom = pair.pixdim.slice(0, 3);

    const withOrigin = readNifti(analyzeHeader([20, 10, 5]), 'spm.hdr', img);
    expect(withOrigin.header.format).toBe('analyze');
    expect([withOrigin.qformCode, withOrigin.sformCode]).toEqual([0, 0]);
    expect(withOrigin.affine).toEqual(expected(zoom, [19, 9, 4]));
    expect(Buffer.compare(Buffer.from(withOrigin.data.buffer), Buffer.from(pair.data.buffer))).toBe(0);

    // Unset (all zero) or implausible (beyond twice the size) origins fall back to the centre.
    const centre = [61 / 2, 40 / 2, 33 / 2]; // (dim - 1) / 2 for 62×41×34
    expect(readNifti(analyzeHeader([0, 0, 0]), 'spm.hdr', img).affine).toEqual(expected(zoom, centre));
    expect(readNifti(analyzeHeader([500, 1, 1]), 'spm.hdr', img).affine).toEqual(expected(zoom, centre));

    // SPM2: funused1 is the scale factor, funused2 the intercept (non-finite counts as 0).
    const scaled = readNifti(analyzeHeader([0, 0, 0], [0.5, NaN]), 'spm.hdr', img);
    const halved = pair.data.map((x) => x * 0.5);
    expect(Buffer.compare(Buffer.from(scaled.data.buffer), Buffer.from(halved.buffer))).toBe(0);

    // Without the .hdr name a header with no magic is not taken for Analyze.
    expect(() => readNifti(analyzeHeader([0, 0, 0]), 'spm.nii', img)).toThrow(
      'spm.nii: not a NIfTI-1 file: sizeof_hdr is 348 but the magic is "", not "n+1"',
    );
  });
});

// ---- synthetic single files: every scalar datatype, both byte orders, both header versions ----

interface Synthetic {
  version: 1 | 2;
  littleEndian: boolean;
  code: number;
  width: number;
  dim: number[];
  /** Writes voxel i at byte offset `at`. */
  put: (view: DataView, at: number, i: number, le: boolean) => void;
  count: number;
  slope?: number;
  inter?: number;
  voxOffset?: number;
}

/** A minimal header (sizeof_hdr, dim, datatype, bitpix, pixdim, vox_offset, scaling, codes 0, magic) and the voxels. */
function synthesize(s: Synthetic): Uint8Array<ArrayBuffer> {
  const headerEnd = s.version === 1 ? 352 : 544;
  const offset = s.voxOffset ?? headerEnd;
  const bytes = new Uint8Array(Math.max(offset, headerEnd) + s.count * s.width);
  const v = new DataView(bytes.buffer);
  const le = s.littleEndian;
  const dim = [...s.dim, 1, 1, 1, 1, 1, 1, 1, 1].slice(0, 8);
  if (s.version === 1) {
    v.setInt32(0, 348, le);
    dim.forEach((d, k) => v.setInt16(40 + 2 * k, d, le));
    v.setInt16(70, s.code, le);
    v.setInt16(72, 8 * s.width, le);
    [1, 1, 1, 1, 1, 1, 1, 1].forEach((p, k) => v.setFloat32(76 + 4 * k, p, le));
    v.setFloat32(108, offset, le);
    v.setFloat32(112, s.slope ?? 0, le);
    v.setFloat32(116, s.inter ?? 0, le);
    bytes.set([0x6e, 0x2b, 0x31, 0], 344); // n+1
  } else {
    v.setInt32(0, 540, le);
    bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4); // n+2\0\r\n\032\n
    v.setInt16(12, s.code, le);
    v.setInt16(14, 8 * s.width, le);
    dim.forEach((d, k) => v.setBigInt64(16 + 8 * k, BigInt(d), le));
    [1, 1, 1, 1, 1, 1, 1, 1].forEach((p, k) => v.setFloat64(104 + 8 * k, p, le));
    v.setBigInt64(168, BigInt(offset), le);
    v.setFloat64(176, s.slope ?? 0, le);
    v.setFloat64(184, s.inter ?? 0, le);
  }
  for (let i = 0; i < s.count; i++) s.put(v, offset + i * s.width, i, le);
  return bytes;
}

const TYPES: { name: string; code: number; width: number; values: (number | bigint)[]; put: (v: DataView, at: number, x: number | bigint, le: boolean) => void }[] = [
  { name: 'uint8', code: 2, width: 1, values: [0, 1, 127, 128, 255, 7], put: (v, at, x) => v.setUint8(at, Number(x)) },
  { name: 'int8', code: 256, width: 1, values: [-128, -1, 0, 1, 127, 5], put: (v, at, x) => v.setInt8(at, Number(x)) },
  { name: 'int16', code: 4, width: 2, values: [-32768, -1, 0, 1, 32767, 300], put: (v, at, x, le) => v.setInt16(at, Number(x), le) },
  { name: 'uint16', code: 512, width: 2, values: [0, 1, 255, 256, 65535, 4000], put: (v, at, x, le) => v.setUint16(at, Number(x), le) },
  { name: 'int32', code: 8, width: 4, values: [-2147483648, -1, 0, 16777217, 2147483647, 12], put: (v, at, x, le) => v.setInt32(at, Number(x), le) },
  { name: 'uint32', code: 768, width: 4, values: [0, 1, 65536, 16777217, 4294967295, 9], put: (v, at, x, le) => v.setUint32(at, Number(x), le) },
  { name: 'int64', code: 1024, width: 8, values: [-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n, 42n], put: (v, at, x, le) => v.setBigInt64(at, BigInt(x), le) },
  { name: 'uint64', code: 1280, width: 8, values: [0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n, 3n], put: (v, at, x, le) => v.setBigUint64(at, BigInt(x), le) },
  { name: 'float32', code: 16, width: 4, values: [-1.5, 0, 3.4e38, -1e-40, NaN, 0.1], put: (v, at, x, le) => v.setFloat32(at, Number(x), le) },
  { name: 'float64', code: 64, width: 8, values: [-1.5, 0.1, 1e300, 1e-300, NaN, -7.25], put: (v, at, x, le) => v.setFloat64(at, Number(x), le) },
];

describe('readNifti: every scalar datatype, either byte order, NIfTI-1 and NIfTI-2', () => {
  for (const t of TYPES) {
    for (const version of [1, 2] as const) {
      for (const littleEndian of [true, false]) {
        it(`${t.name}, NIfTI-${version}, ${littleEndian ? 'little' : 'big'}-endian, unscaled and scaled`, () => {
          for (const [slope, inter] of [[0, 0], [1, 0], [0.25, -3]]) {
            const bytes = synthesize({
              version, littleEndian, code: t.code, width: t.width, dim: [2, 3, 2], count: 6, slope, inter,
              put: (v, at, i, le) => t.put(v, at, t.values[i], le),
            });
            const vol = readNifti(bytes, 'synthetic.nii');
            expect(vol.datatype).toBe(t.name);
            expect(vol.dims).toEqual([3, 2, 1]); // dim[0] = 2: padded to three dimensions
            expect(vol.header.format).toBe(`nifti${version}`);
            // f32 rounding of the f64 value stored · slope + inter (slope 0 means none).
            const stored = t.values.map((x) => (t.name === 'float32' ? Math.fround(Number(x)) : Number(x)));
            const want = stored.map((x) => Math.fround(slope === 0 ? x : x * slope + inter));
            expect(Array.from(vol.data)).toEqual(want);
          }
        });
      }
    }
  }

  it('scl_slope NaN means no scaling; a valid slope with an infinite intercept is an error', () => {
    const make = (slope: number, inter: number): Uint8Array => synthesize({
      version: 1, littleEndian: true, code: 2, width: 1, dim: [3, 3, 1, 1], count: 3, slope, inter, put: (v, at, i) => v.setUint8(at, i + 1),
    });
    expect(Array.from(readNifti(make(NaN, NaN), 'nan-scale.nii').data)).toEqual([1, 2, 3]);
    expect(() => readNifti(make(2, Infinity), 'bad-scale.nii')).toThrow('bad-scale.nii: scl_slope is 2 but scl_inter is Infinity, not a number');
  });

  it('gzip is recognised by its magic bytes, whatever the name', async () => {
    const bytes = synthesize({
      version: 1, littleEndian: false, code: 4, width: 2, dim: [3, 2, 2, 1], count: 4, put: (v, at, i, le) => v.setInt16(at, -i, le),
    });
    const gz = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
    expect(Array.from(readNifti(gz, 'named-plain.nii').data)).toEqual([0, -1, -2, -3]);
  });

  it('header errors name the file and the field', () => {
    const base = { version: 1 as const, littleEndian: true, code: 2, width: 1, count: 1, put: () => {} };
    expect(() => readNifti(synthesize({ ...base, dim: [0] }), 'a.nii')).toThrow('a.nii: dim[0] (the number of dimensions) is 0, expected 1 to 7');
    expect(() => readNifti(synthesize({ ...base, dim: [3, 1, 0, 1] }), 'b.nii')).toThrow('b.nii: dim[2] is 0: every dimension must be at least 1');
    expect(() => readNifti(synthesize({ ...base, dim: [1, 1], code: 2304 }), 'c.nii')).toThrow('c.nii: datatype RGBA32 (code 2304) is not a scalar type');
    expect(() => readNifti(synthesize({ ...base, dim: [1, 1], code: 999 }), 'd.nii')).toThrow('d.nii: unknown datatype code 999');
    expect(() => readNifti(synthesize({ ...base, dim: [1, 1], voxOffset: 100 }), 'e.nii')).toThrow('e.nii: vox_offset is 100, inside the header');
    const nifti2 = synthesize({ ...base, version: 2, dim: [1, 1] });
    nifti2[9] = 0; // damage the "\r\n\032\n" after n+2, as a text-mode transfer would
    expect(() => readNifti(nifti2, 'f.nii')).toThrow('f.nii: not a NIfTI-2 file: sizeof_hdr is 540 but the magic is "n+2"');
  });
});

describe('volume fields', () => {
  it('units, pixdim and the fallback affine of a header with both codes 0', () => {
    const bytes = synthesize({
      version: 1, littleEndian: true, code: 2, width: 1, dim: [4, 4, 5, 6, 2], count: 240, put: () => {},
    });
    const v = new DataView(bytes.buffer);
    [-1, 2, 3, 4, 2.5, 1, 1, 1].forEach((p, k) => v.setFloat32(76 + 4 * k, p, true));
    v.setUint8(123, 2 | 8); // mm, s
    const vol: NiftiVolume = readNifti(bytes, 'units.nii');
    expect(vol.units).toEqual({ spatial: 'mm', temporal: 's' });
    expect(vol.pixdim).toEqual([2, 3, 4, 2.5]);
    // nibabel's get_base_affine: x flipped, centre voxel (dim − 1)/2 at the origin; qfac unused.
    expect(vol.affine).toEqual([-2, 0, 0, 3, 0, 3, 0, -6, 0, 0, 4, -10, 0, 0, 0, 1]);
  });
});
