// Reading NIfTI-1, NIfTI-2 and Analyze 7.5 volumes in plain TypeScript (no Node, no GPU), so it
// also runs in a browser. File access lives in nifti-node.ts, writing in nifti-write.ts.
//
// What is read, and how it matches nibabel (the reference for every file under ../shared/data):
// - `.nii` single files (magic "n+1" / "n+2") and `.hdr`/`.img` pairs (magic "ni1" / "ni2", or
//   no magic: Analyze 7.5), each possibly gzipped; either byte order, told by sizeof_hdr.
// - Scalar datatypes only (u8 i8 i16 u16 i32 u32 i64 u64 f32 f64), returned as f32 in file
//   order: x fastest (Fortran order) over dims = dim[1..dim[0]], all of them kept, so a 4D
//   multi-modal volume is [X, Y, Z, C] with channel c at data[c·X·Y·Z + …] and the 5D test file
//   [1, 2, 3, 1, 3] keeps its t = 1 axis: whatever lies beyond x, y, z flattens to volumes in
//   Fortran order. Fewer than three dimensions are padded with 1 to [X, Y, 1].
// - Scaling: value = stored · scl_slope + scl_inter (in f64, then rounded to f32) unless
//   scl_slope is 0 or not finite, which means "no scaling" (nibabel: a valid slope with a
//   non-finite intercept is an error). Analyze reads SPM's scale factor from the same bytes.
// - Affine: see affine.ts (sform, else qform, else nibabel's centred fallback; SPM's origin
//   field for Analyze). The SPM `.mat` sidecar of Analyze files is not read.
// - Refused with the file name and the reason: RGB / complex / float128 / bit data, CIFTI files
//   (intent codes 3000-3099), truncated data, files that are not NIfTI or Analyze at all.
// - Every header field that sizes or places something is checked before anything is allocated:
//   dims (each ≥ 1, their product at most MAX_VOXELS), datatype and bitpix agreeing, vox_offset
//   a finite whole number inside the file (past the header for a .nii); then voxel sizes and
//   the affine must be finite (a NaN there would reach every resampling and the written output). gzip (gunzip.ts) is read
//   header first: the first 540 bytes are inflated, the header checked, and the whole stream then
//   inflated with its output capped at what the header describes, every member's CRC32 and ISIZE
//   checked; multi-member streams (e.g. BGZF) are read whole.
//
// Why the header is parsed here and not by nifti-reader-js (on the design card, no longer a dependency): its
// readHeader (0.8.0) (1) recognises only files with a magic string, so Analyze 7.5 is out;
// (2) keeps srow_x/y/z only when sform_code > qform_code (it stores one chosen affine), while
// writing a prediction in the input's geometry needs both; (3) reads NIfTI-2's 64-bit fields in
// big-endian files with a wrong sign test (getInt64At takes the low word as the signed one); and
// (4) validates no field. A layer of checks on top of it would still need our own byte offsets for
// (1) and (2), so the 60 lines of offsets below stay and every field is validated after them.
// Its voxel reader (readImage) returns the raw bytes without byte-swapping or scaling, which
// decodeVoxels does; its gunzip (fflate's) checks no CRC, see gunzip.ts.

import { niftiAffine, sformAffine, spmOriginAffine, type Affine } from './affine.js';
import { gunzip, gunzipPrefix, isGzip } from './gunzip.js';

/**
 * Bytes a gzipped file may hold past the voxels its header describes: an uncompressed file may have
 * trailing bytes (nibabel reads both), so a .gz may too, within a bound that keeps the cap meaningful.
 */
const TRAILING_BYTES = 1 << 20;

/** The scalar datatypes read here, with their NIfTI codes and sizes. */
export const NIFTI_DATATYPES = {
  uint8: { code: 2, bytes: 1 },
  int8: { code: 256, bytes: 1 },
  int16: { code: 4, bytes: 2 },
  uint16: { code: 512, bytes: 2 },
  int32: { code: 8, bytes: 4 },
  uint32: { code: 768, bytes: 4 },
  int64: { code: 1024, bytes: 8 },
  uint64: { code: 1280, bytes: 8 },
  float32: { code: 16, bytes: 4 },
  float64: { code: 64, bytes: 8 },
} as const;

export type NiftiDatatype = keyof typeof NIFTI_DATATYPES;

const DATATYPE_BY_CODE = new Map(
  Object.entries(NIFTI_DATATYPES).map(([name, { code }]) => [code as number, name as NiftiDatatype]),
);

/** Datatypes nifti1.h defines that hold more than one number per voxel, or not a whole byte. */
const NON_SCALAR = new Map([
  [1, 'BINARY (1 bit per voxel)'], [32, 'COMPLEX64'], [128, 'RGB24'], [1536, 'FLOAT128'],
  [1792, 'COMPLEX128'], [2048, 'COMPLEX256'], [2304, 'RGBA32'],
]);

const ARRAY_TYPES = {
  uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
  uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array,
} as const;

/** The header as stored (after byte-order conversion): what writing the same geometry back needs. */
export interface NiftiHeader {
  format: 'nifti1' | 'nifti2' | 'analyze';
  /** A .hdr whose voxels are in a separate .img (magic "ni1"/"ni2", and every Analyze file). */
  pair: boolean;
  littleEndian: boolean;
  /** dim[0..7]: dim[0] is the number of dimensions. */
  dim: number[];
  /** pixdim[0..7]: pixdim[0] is qfac (±1), pixdim[1..3] the voxel sizes. */
  pixdim: number[];
  datatypeCode: number;
  /** Byte offset of the voxels in the .nii (or in the .img of a pair). */
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  dimInfo: number;
  intentCode: number;
  intentName: string;
  /** Spatial unit code in bits 0-2, temporal in bits 3-5. */
  xyztUnits: number;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  quatern: number[];
  /** qoffset_x, qoffset_y, qoffset_z. */
  qoffset: number[];
  /** srow_x, srow_y, srow_z (4 each). For Analyze, which has none, the SPM-origin affine's rows. */
  srow: number[];
  description: string;
}

export type SpatialUnit = 'unknown' | 'm' | 'mm' | 'um';
export type TemporalUnit = 'unknown' | 's' | 'ms' | 'us' | 'Hz' | 'ppm' | 'rad/s';

export interface NiftiVolume {
  /** dim[1..dim[0]] (at least three): x, y, z, then t / channels. */
  dims: number[];
  /** Scaled values, x fastest (Fortran order). */
  data: Float32Array;
  /** The type stored on disk. */
  datatype: NiftiDatatype;
  /** pixdim[1..dim[0]]: voxel sizes, then the t / channel step (nibabel's zooms). */
  pixdim: number[];
  /** Voxel to RAS+ world, row-major 4×4. */
  affine: Affine;
  qformCode: number;
  sformCode: number;
  units: { spatial: SpatialUnit; temporal: TemporalUnit };
  header: NiftiHeader;
}

const SPATIAL_UNITS: Record<number, SpatialUnit> = { 1: 'm', 2: 'mm', 3: 'um' };
const TEMPORAL_UNITS: Record<number, TemporalUnit> = { 8: 's', 16: 'ms', 24: 'us', 32: 'Hz', 40: 'ppm', 48: 'rad/s' };

function fail(fileName: string, problem: string): Error {
  return new Error(`${fileName}: ${problem}`);
}

/**
 * The most voxels a volume may have (all channels): 2^31 − 1, the longest typed array every
 * runtime allocates, 8 GiB as f32. It bounds the header's dims before anything is sized by them.
 */
export const MAX_VOXELS = 2 ** 31 - 1;

/** The most a gzipped .hdr may decompress to: the header and its extensions, nothing else. */
const MAX_HEADER_FILE_BYTES = 1 << 24;

function text(view: DataView, offset: number, length: number): string {
  let s = '';
  for (let k = 0; k < length; k++) {
    const c = view.getUint8(offset + k);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

const range = (n: number, f: (k: number) => number): number[] => Array.from({ length: n }, (_, k) => f(k));

/** A parsed header and its bitpix (checked against the datatype, then not needed). */
interface ParsedHeader {
  h: NiftiHeader;
  bitpix: number;
}

/** The 348-byte layout shared by NIfTI-1 and (where it overlaps) Analyze 7.5. */
function parseNifti1(v: DataView, le: boolean, pair: boolean): NiftiHeader {
  const i16 = (o: number): number => v.getInt16(o, le);
  const f32 = (o: number): number => v.getFloat32(o, le);
  return {
    format: 'nifti1', pair, littleEndian: le,
    dim: range(8, (k) => i16(40 + 2 * k)),
    pixdim: range(8, (k) => f32(76 + 4 * k)),
    datatypeCode: i16(70),
    voxOffset: Math.floor(f32(108)),
    sclSlope: f32(112),
    sclInter: f32(116),
    dimInfo: v.getUint8(39),
    intentCode: i16(68),
    intentName: text(v, 328, 16),
    xyztUnits: v.getUint8(123),
    qformCode: i16(252),
    sformCode: i16(254),
    quatern: range(3, (k) => f32(256 + 4 * k)),
    qoffset: range(3, (k) => f32(268 + 4 * k)),
    srow: range(12, (k) => f32(280 + 4 * k)),
    description: text(v, 148, 80),
  };
}

/**
 * Analyze 7.5 shares the NIfTI-1 offsets for dim, datatype, pixdim, vox_offset, SPM's scale
 * factor (funused1 = scl_slope) and SPM2's intercept (funused2 = scl_inter); the bytes NIfTI uses
 * for codes, quaternion and srow hold other things, so they are zeroed. SPM's origin is 3 int16 at
 * byte 253, where Analyze has `originator`.
 */
function parseAnalyze(v: DataView, le: boolean): NiftiHeader {
  const h = parseNifti1(v, le, true);
  const origin = range(3, (k) => v.getInt16(253 + 2 * k, le));
  return {
    ...h,
    format: 'analyze',
    sclInter: Number.isFinite(h.sclInter) ? h.sclInter : 0,
    dimInfo: 0, intentCode: 0, intentName: '', xyztUnits: 0, qformCode: 0, sformCode: 0,
    quatern: [0, 0, 0], qoffset: [0, 0, 0],
    srow: spmOriginAffine(h.dim, h.pixdim, origin).slice(0, 12),
  };
}

function parseNifti2(v: DataView, le: boolean, pair: boolean): NiftiHeader {
  const i64 = (o: number): number => Number(v.getBigInt64(o, le));
  const f64 = (o: number): number => v.getFloat64(o, le);
  const i32 = (o: number): number => v.getInt32(o, le);
  return {
    format: 'nifti2', pair, littleEndian: le,
    dim: range(8, (k) => i64(16 + 8 * k)),
    pixdim: range(8, (k) => f64(104 + 8 * k)),
    datatypeCode: v.getInt16(12, le),
    voxOffset: i64(168),
    sclSlope: f64(176),
    sclInter: f64(184),
    dimInfo: v.getUint8(524),
    intentCode: i32(504),
    intentName: text(v, 508, 16),
    xyztUnits: i32(500),
    qformCode: i32(344),
    sformCode: i32(348),
    quatern: range(3, (k) => f64(352 + 8 * k)),
    qoffset: range(3, (k) => f64(376 + 8 * k)),
    srow: range(12, (k) => f64(400 + 8 * k)),
    description: text(v, 240, 80),
  };
}

const NIFTI2_MAGIC_TAIL = [0x0d, 0x0a, 0x1a, 0x0a]; // "\r\n\032\n": catches text-mode transfer damage

/** Finds the format and byte order from sizeof_hdr (348 or 540) and the magic string. */
function parseNiftiHeader(bytes: Uint8Array, fileName: string): ParsedHeader {
  if (bytes.length < 348) throw fail(fileName, `not a NIfTI or Analyze file: ${bytes.length} bytes, shorter than any header (348)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = v.getInt32(0, true);
  const be = v.getInt32(0, false);
  const littleEndian = le === 348 || le === 540;
  const size = littleEndian ? le : be;
  if (size === 348) {
    const magic = text(v, 344, 4);
    const bitpix = v.getInt16(72, littleEndian);
    if (magic === 'n+1' || magic === 'ni1') return { h: parseNifti1(v, littleEndian, magic === 'ni1'), bitpix };
    if (/\.hdr(\.gz)?$/i.test(fileName)) return { h: parseAnalyze(v, littleEndian), bitpix };
    throw fail(fileName, `not a NIfTI-1 file: sizeof_hdr is 348 but the magic is ${JSON.stringify(magic)}, not "n+1" (a header without magic is Analyze 7.5, which must be named .hdr)`);
  }
  if (size === 540) {
    const magic = text(v, 4, 4);
    const tail = NIFTI2_MAGIC_TAIL.every((c, k) => v.getUint8(8 + k) === c);
    if ((magic === 'n+2' || magic === 'ni2') && tail) {
      if (bytes.length < 540) throw fail(fileName, `truncated: the NIfTI-2 header needs 540 bytes, the file has ${bytes.length}`);
      return { h: parseNifti2(v, littleEndian, magic === 'ni2'), bitpix: v.getInt16(14, littleEndian) };
    }
    throw fail(fileName, `not a NIfTI-2 file: sizeof_hdr is 540 but the magic is ${JSON.stringify(magic)} (expected "n+2" or "ni2" followed by \\r\\n\\x1a\\n)`);
  }
  throw fail(fileName, `not a NIfTI or Analyze file: sizeof_hdr (the first 4 bytes) reads ${le} little-endian and ${be} big-endian, expected 348 (NIfTI-1, Analyze) or 540 (NIfTI-2)`);
}

/** dim[1..dim[0]], padded with 1 to at least three entries. */
function volumeDims(h: NiftiHeader, fileName: string): number[] {
  const rank = h.dim[0];
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) throw fail(fileName, `dim[0] (the number of dimensions) is ${rank}, expected 1 to 7`);
  const dims = h.dim.slice(1, rank + 1);
  const bad = dims.findIndex((d) => !Number.isSafeInteger(d) || d < 1);
  if (bad >= 0) throw fail(fileName, `dim[${bad + 1}] is ${dims[bad]}: every dimension must be at least 1 (dim = [${h.dim.join(', ')}])`);
  // Each factor is ≤ 2^53 and the running product stops past MAX_VOXELS, so it stays exact.
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (count > MAX_VOXELS) {
      throw fail(fileName, `dim = [${h.dim.join(', ')}] describes more than ${MAX_VOXELS} voxels, the most a volume may have`);
    }
  }
  while (dims.length < 3) dims.push(1);
  return dims;
}

function checkBitpix(bitpix: number, type: NiftiDatatype, code: number, fileName: string): void {
  const expected = 8 * NIFTI_DATATYPES[type].bytes;
  if (bitpix !== expected) throw fail(fileName, `bitpix is ${bitpix}, but datatype ${type} (code ${code}) has ${expected} bits per voxel`);
}

/**
 * vox_offset must be a whole, finite number of bytes: past the header in a single .nii (which
 * keeps its voxels from byte 352 / 544 on), at least 0 in the .img of a pair.
 */
function checkVoxOffset(h: NiftiHeader, fileName: string): void {
  const headerEnd = h.pair ? 0 : h.format === 'nifti2' ? 544 : 352;
  if (!Number.isSafeInteger(h.voxOffset) || h.voxOffset < headerEnd) {
    throw fail(fileName, h.pair
      ? `vox_offset is ${h.voxOffset}, expected a whole number of bytes ≥ 0 (where the voxels start in the .img)`
      : `vox_offset is ${h.voxOffset}, inside the header or not a number (a single-file NIfTI keeps its voxels from byte ${headerEnd} on)`);
  }
}

function datatypeOf(h: NiftiHeader, fileName: string): NiftiDatatype {
  const name = DATATYPE_BY_CODE.get(h.datatypeCode);
  if (name) return name;
  const nonScalar = NON_SCALAR.get(h.datatypeCode);
  if (nonScalar) {
    throw fail(fileName, `datatype ${nonScalar} (code ${h.datatypeCode}) is not a scalar type: only one number per voxel is read (convert colour or complex data to a scalar volume first)`);
  }
  throw fail(fileName, `unknown datatype code ${h.datatypeCode}`);
}

/** slope and intercept, or null when the stored values are used as they are. */
function scaling(h: NiftiHeader, fileName: string): { slope: number; inter: number } | null {
  const slope = h.sclSlope;
  const inter = h.sclInter;
  if (slope === 0 || !Number.isFinite(slope)) return null;
  if (!Number.isFinite(inter)) throw fail(fileName, `scl_slope is ${slope} but scl_inter is ${inter}, not a number`);
  return slope === 1 && inter === 0 ? null : { slope, inter };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every `width`-byte element, in place. */
function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = bytes[lo];
      bytes[lo] = bytes[hi];
      bytes[hi] = t;
    }
  }
}

function decodeVoxels(
  source: Uint8Array, sourceName: string, h: NiftiHeader, type: NiftiDatatype, count: number, fileName: string,
): Float32Array {
  const width = NIFTI_DATATYPES[type].bytes;
  const begin = h.voxOffset;
  const end = begin + count * width;
  if (end > source.length) {
    throw fail(sourceName, `truncated: the voxel data needs ${count * width} bytes from offset ${begin} (${count} voxels of ${type}), but the data ends at byte ${source.length}`);
  }
  // A copy (not `slice`, which shares memory for a Node Buffer): aligned for the typed array,
  // and safe to byte-swap.
  const raw = new Uint8Array(end - begin);
  raw.set(source.subarray(begin, end));
  if (width > 1 && h.littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(raw, width);
  const stored = new ARRAY_TYPES[type](raw.buffer);
  const scale = scaling(h, fileName);
  if (type === 'float32' && !scale) return stored as Float32Array;
  const out = new Float32Array(count);
  if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) out[i] = scale ? Number(stored[i]) * scale.slope + scale.inter : Number(stored[i]);
  } else if (scale) {
    for (let i = 0; i < count; i++) out[i] = stored[i] * scale.slope + scale.inter;
  } else {
    out.set(stored);
  }
  return out;
}

/** The voxel-to-world affine; voxel sizes and every entry must be finite. */
function checkedAffine(h: NiftiHeader, fileName: string): Affine {
  const badZoom = h.pixdim.slice(1, 4).findIndex((p) => !Number.isFinite(p));
  if (badZoom >= 0) throw fail(fileName, `pixdim[${badZoom + 1}] is ${h.pixdim[badZoom + 1]}: voxel sizes must be finite numbers`);
  const affine = h.format === 'analyze' ? sformAffine(h.srow) : niftiAffine(h);
  if (!affine.every(Number.isFinite)) {
    const fields = h.format === 'analyze' ? 'the SPM origin' : h.sformCode > 0 ? 'srow_x/y/z (sform)'
      : h.qformCode > 0 ? 'quatern_b/c/d, qoffset_x/y/z (qform)' : 'pixdim';
    throw fail(fileName, `the voxel-to-world affine is not finite: check ${fields}`);
  }
  return affine;
}

/**
 * Reads a NIfTI-1/NIfTI-2 `.nii`, a `.hdr` of a pair (its `.img` as `companion`), or an Analyze
 * 7.5 `.hdr` (name must end in .hdr or .hdr.gz), any of them gzipped. `fileName` is used in error
 * messages and to recognise Analyze headers.
 */
export function readNifti(bytes: Uint8Array, fileName: string, companion?: Uint8Array): NiftiVolume {
  // Header first: a gzipped file is inflated only as far as the header until it is checked.
  const { h, bitpix } = parseNiftiHeader(isGzip(bytes) ? gunzipPrefix(bytes, fileName, 540) : bytes, fileName);
  if (h.intentCode >= 3000 && h.intentCode <= 3099) {
    throw fail(fileName, `CIFTI file (intent code ${h.intentCode}${h.intentName ? ` "${h.intentName}"` : ''}): its data are surface vertices / parcels / connectivity matrices, not a voxel grid; only volumes are read`);
  }
  const type = datatypeOf(h, fileName);
  checkBitpix(bitpix, type, h.datatypeCode, fileName);
  const dims = volumeDims(h, fileName);
  checkVoxOffset(h, fileName);
  const affine = checkedAffine(h, fileName);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataEnd = h.voxOffset + count * NIFTI_DATATYPES[type].bytes;
  const described = `what the header describes (vox_offset ${h.voxOffset} + ${count} voxels of ${type}) and 1 MiB after it`;
  let source: Uint8Array;
  let sourceName = fileName;
  if (h.pair) {
    if (!companion) throw fail(fileName, 'this header keeps its voxels in a separate .img file: pass that file as `companion`');
    if (isGzip(bytes)) gunzip(bytes, fileName, MAX_HEADER_FILE_BYTES, 'more than a header and its extensions hold'); // integrity
    sourceName = `${fileName.replace(/\.hdr(\.gz)?$/i, '')}.img (the voxels of ${fileName})`;
    source = isGzip(companion) ? gunzip(companion, sourceName, dataEnd + TRAILING_BYTES, described) : companion;
  } else {
    source = isGzip(bytes) ? gunzip(bytes, fileName, dataEnd + TRAILING_BYTES, described) : bytes;
  }
  const data = decodeVoxels(source, sourceName, h, type, count, fileName);
  const rank = Math.max(3, h.dim[0]);
  return {
    dims, data, datatype: type,
    pixdim: h.pixdim.slice(1, rank + 1),
    affine,
    qformCode: h.qformCode,
    sformCode: h.sformCode,
    units: { spatial: SPATIAL_UNITS[h.xyztUnits & 0x07] ?? 'unknown', temporal: TEMPORAL_UNITS[h.xyztUnits & 0x38] ?? 'unknown' },
    header: h,
  };
}
