// NIfTI mutations for the fuzz suite: header fields set to boundary values (through the gzip
// layer: the file is inflated, edited and deflated again), gzip-level damage (CRC, ISIZE, extra
// members, trailing bytes, flags, truncation) and generic byte damage, on .nii, .nii.gz and
// .hdr/.img pairs.

import { gunzipSync, gzipSync } from 'node:zlib';
import { isGzip } from '../src/io/gunzip.js';
import { readNifti } from '../src/io/nifti.js';
import { BOUNDARY_FLOATS, BOUNDARY_INTS, mutateBytes, type Mutated, type Rng } from './mutate.js';

export interface NiftiSample {
  name: string;
  bytes: Uint8Array;
  /** The .img (or .img.gz) of a pair, named `companionName`. */
  companion?: Uint8Array;
  companionName?: string;
}

type FieldType = 'i16' | 'i32' | 'i64' | 'f32' | 'f64';

/** [name, offset, type] of the fields that place, size or scale the voxels. */
const NIFTI1_FIELDS: [string, number, FieldType][] = [
  ['sizeof_hdr', 0, 'i32'], ...[0, 1, 2, 3, 4, 5, 6, 7].map((k): [string, number, FieldType] => [`dim[${k}]`, 40 + 2 * k, 'i16']),
  ['intent_code', 68, 'i16'], ['datatype', 70, 'i16'], ['bitpix', 72, 'i16'],
  ...[0, 1, 2, 3].map((k): [string, number, FieldType] => [`pixdim[${k}]`, 76 + 4 * k, 'f32']),
  ['vox_offset', 108, 'f32'], ['scl_slope', 112, 'f32'], ['scl_inter', 116, 'f32'], ['qform_code', 252, 'i16'],
  ['sform_code', 254, 'i16'], ['quatern_b', 256, 'f32'], ['qoffset_x', 268, 'f32'], ['srow_x[0]', 280, 'f32'],
];
const NIFTI2_FIELDS: [string, number, FieldType][] = [
  ['sizeof_hdr', 0, 'i32'], ['datatype', 12, 'i16'], ['bitpix', 14, 'i16'],
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((k): [string, number, FieldType] => [`dim[${k}]`, 16 + 8 * k, 'i64']),
  ...[0, 1, 2, 3].map((k): [string, number, FieldType] => [`pixdim[${k}]`, 104 + 8 * k, 'f64']),
  ['vox_offset', 168, 'i64'], ['scl_slope', 176, 'f64'], ['scl_inter', 184, 'f64'], ['qform_code', 344, 'i32'],
  ['sform_code', 348, 'i32'], ['srow_x[0]', 400, 'f64'], ['intent_code', 504, 'i32'],
];

function setField(view: DataView, at: number, type: FieldType, value: number, le: boolean): void {
  switch (type) {
    case 'i16': view.setInt16(at, Number.isFinite(value) ? value : 0, le); break;
    case 'i32': view.setInt32(at, Number.isFinite(value) ? value : 0, le); break;
    case 'i64': view.setBigInt64(at, BigInt.asIntN(64, BigInt(Number.isFinite(value) ? Math.trunc(value) : 0)), le); break;
    case 'f32': view.setFloat32(at, value, le); break;
    case 'f64': view.setFloat64(at, value, le); break;
  }
}

/** Sets one header field (of the plain bytes) to a boundary value. */
function mutateField(rng: Rng, plain: Uint8Array): Mutated {
  const out = plain.slice();
  if (out.length < 348) return { bytes: out, what: 'header too short to edit' };
  const view = new DataView(out.buffer);
  const le = view.getInt32(0, true) === 348 || view.getInt32(0, true) === 540;
  const nifti2 = (le ? view.getInt32(0, true) : view.getInt32(0, false)) === 540 && out.length >= 540;
  const [name, at, type] = rng.pick(nifti2 ? NIFTI2_FIELDS : NIFTI1_FIELDS);
  const isFloat = type === 'f32' || type === 'f64';
  const value = rng.chance(0.8) ? rng.pick(isFloat ? BOUNDARY_FLOATS : [...BOUNDARY_INTS, ...(type === 'i64' ? [2 ** 53, -(2 ** 62), 2 ** 62] : [])])
    : (rng.next() - 0.5) * 2 ** rng.int(40);
  setField(view, at, type, value, le);
  return { bytes: out, what: `${name} = ${value}` };
}

const gz = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes));

/** Damage that only a gzip stream can have; plain files get a byte mutation instead. */
function mutateGzip(rng: Rng, bytes: Uint8Array): Mutated {
  const out = bytes.slice();
  const n = out.length;
  switch (rng.int(8)) {
    case 0: out[n - 8 + rng.int(4)] ^= 1 << rng.int(8); return { bytes: out, what: 'flip a CRC32 bit' };
    case 1: out[n - 4 + rng.int(4)] ^= 1 << rng.int(8); return { bytes: out, what: 'flip an ISIZE bit' };
    case 2: out.set([0xff, 0xff, 0xff, 0xff], n - 4); return { bytes: out, what: 'ISIZE = 2^32 - 1' };
    case 3: {
      const extra = gz(Uint8Array.from({ length: rng.int(2000) }, () => rng.int(256)));
      return { bytes: new Uint8Array([...out, ...extra]), what: `append a valid extra member of ${extra.length} bytes` };
    }
    case 4: return { bytes: new Uint8Array([...out, ...Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))]), what: 'append trailing garbage' };
    case 5: out[3] |= 1 << rng.int(8); return { bytes: out, what: `set gzip flag bits (FLG = ${out[3]})` };
    case 6: {
      // The same data as two members: valid, must read the same as the original.
      const plain = new Uint8Array(gunzipSync(bytes));
      const cut = rng.int(plain.length + 1);
      return { bytes: new Uint8Array([...gz(plain.subarray(0, cut)), ...gz(plain.subarray(cut))]), what: `split into two members at ${cut}` };
    }
    default: {
      const body = 10 + rng.int(Math.max(1, n - 18));
      out[body] ^= 1 << rng.int(8);
      return { bytes: out, what: `flip a bit in the deflate data at byte ${body}` };
    }
  }
}

/** One mutation of one of the two files of a sample (the header file most of the time). */
function mutateFile(rng: Rng, bytes: Uint8Array, isHeaderFile: boolean): Mutated {
  const zipped = isGzip(bytes);
  const choice = rng.int(zipped ? 3 : 2);
  if (choice === 0 && isHeaderFile) {
    const plain = zipped ? new Uint8Array(gunzipSync(bytes)) : bytes;
    const m = mutateField(rng, plain);
    return zipped ? { bytes: gz(m.bytes), what: `${m.what} (re-gzipped)` } : m;
  }
  if (choice === 2) return mutateGzip(rng, bytes);
  return mutateBytes(rng, bytes, isHeaderFile && !zipped ? 544 : bytes.length);
}

export interface NiftiAttempt {
  sample: NiftiSample;
  bytes: Uint8Array;
  companion?: Uint8Array;
  what: string;
}

export function mutateNifti(rng: Rng, samples: readonly NiftiSample[]): NiftiAttempt {
  const sample = rng.pick(samples);
  if (sample.companion && rng.chance(0.3)) {
    const m = mutateFile(rng, sample.companion, false);
    return { sample, bytes: sample.bytes, companion: m.bytes, what: `${sample.companionName}: ${m.what}` };
  }
  const m = mutateFile(rng, sample.bytes, true);
  return { sample, bytes: m.bytes, companion: sample.companion, what: `${sample.name}: ${m.what}` };
}

/** Gunzips with Node's zlib (which checks CRC32 and ISIZE), or null when zlib refuses the stream. */
function zlibGunzip(bytes: Uint8Array): Uint8Array | null {
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch {
    return null;
  }
}

/**
 * Reads the attempt. When it is accepted, every gzip stream in it must be one zlib accepts too,
 * and the voxels must equal those read from zlib's output: otherwise a corrupt stream got through.
 * Returns null, or what was wrong.
 */
export function readNiftiAttempt(a: NiftiAttempt): string | null {
  const vol = readNifti(a.bytes, a.sample.name, a.companion);
  const plainMain = isGzip(a.bytes) ? zlibGunzip(a.bytes) : a.bytes;
  const plainImage = a.companion && isGzip(a.companion) ? zlibGunzip(a.companion) : a.companion;
  if (!plainMain || (a.companion && !plainImage)) return 'accepted a gzip stream that zlib refuses';
  const again = readNifti(plainMain, a.sample.name, plainImage ?? undefined);
  const same = again.data.length === vol.data.length && again.data.every((x, i) => Object.is(x, vol.data[i]));
  return same ? null : 'accepted, but the voxels differ from those of the zlib-decompressed file';
}
