// Writing a volume as a single-file NIfTI-1 (.nii, optionally gzipped) in the geometry of the
// input it was computed from: label maps as uint8 / int16, class probabilities as float32 with
// one volume per class along the 4th dimension. Plain TypeScript: gzip is the standard
// CompressionStream (Node 18+, Deno, Bun, browsers). File access lives in nifti-node.ts.
//
// Copied from the reference header, unchanged: pixdim[0..7] (qfac included), qform/sform codes,
// quaternion, qoffset, srow, xyzt_units, dim_info. A NIfTI-2 reference is narrowed to NIfTI-1's
// float32 fields. Analyze has no codes: its affine (SPM origin rule) is written as an sform with
// code 2 (aligned anatomical), so NIfTI readers land on the same grid.
//
// Scaling: scl_slope = 1, scl_inter = 0, the identity for every reader. (nibabel writes NaN / NaN,
// its "unset" marker, for unscaled data; fmriprep treated that as a bug and forces 1 / 0 —
// nipreps/fmriprep#2507 — and the project spec asks for 1 / 0 too.) Little-endian, vox_offset 352,
// no extensions, intent 0, description "transseg-webgpu".

import { NIFTI_DATATYPES, type NiftiHeader } from './nifti.js';

export type NiftiWriteDatatype = 'uint8' | 'int16' | 'float32';

export interface NiftiWriteOptions {
  datatype: NiftiWriteDatatype;
  /** Compress with gzip (a .nii.gz file). */
  gzip?: boolean;
}

/** What is written: values x fastest (Fortran order) over dims = [X, Y, Z] or [X, Y, Z, classes, …]. */
export interface VolumeToWrite {
  dims: readonly number[];
  data: ArrayLike<number>;
}

const HEADER_BYTES = 348;
const VOX_OFFSET = 352; // the header plus the 4-byte extension flag (all zero: no extensions)
const INTEGER_RANGE = { uint8: [0, 255], int16: [-32768, 32767] } as const;

function fail(problem: string): Error {
  return new Error(`writeNifti: ${problem}`);
}

function checkArguments(volume: VolumeToWrite, reference: NiftiHeader, datatype: string): void {
  if (!['uint8', 'int16', 'float32'].includes(datatype)) {
    throw fail(`options.datatype must be 'uint8', 'int16' or 'float32', got ${JSON.stringify(datatype)}`);
  }
  const { dims } = volume;
  if (dims.length < 3 || dims.length > 7 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw fail(`volume.dims must be 3 to 7 integers in 1..32767 (NIfTI-1 stores int16), got [${dims.join(', ')}]`);
  }
  const grid = [1, 2, 3].map((k) => (k <= reference.dim[0] ? reference.dim[k] : 1));
  if (grid.some((g, k) => g !== dims[k])) {
    throw fail(`volume.dims [${dims.join(', ')}] must start with the reference grid [${grid.join(', ')}]: the geometry is copied from it`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (volume.data.length !== count) {
    throw fail(`volume.data has ${volume.data.length} values, dims [${dims.join(', ')}] need ${count}`);
  }
}

function writeText(view: DataView, offset: number, s: string): void {
  for (let k = 0; k < s.length; k++) view.setUint8(offset + k, s.charCodeAt(k));
}

function writeHeader(view: DataView, dims: readonly number[], ref: NiftiHeader, datatype: NiftiWriteDatatype): void {
  const le = true;
  const { code, bytes } = NIFTI_DATATYPES[datatype];
  const analyze = ref.format === 'analyze';
  view.setInt32(0, HEADER_BYTES, le);
  view.setUint8(39, ref.dimInfo);
  for (let k = 0; k < 8; k++) view.setInt16(40 + 2 * k, k === 0 ? dims.length : (dims[k - 1] ?? 1), le);
  view.setInt16(70, code, le);
  view.setInt16(72, 8 * bytes, le);
  for (let k = 0; k < 8; k++) view.setFloat32(76 + 4 * k, ref.pixdim[k], le);
  view.setFloat32(108, VOX_OFFSET, le);
  view.setFloat32(112, 1, le); // scl_slope
  view.setFloat32(116, 0, le); // scl_inter
  view.setUint8(123, ref.xyztUnits);
  writeText(view, 148, 'transseg-webgpu');
  view.setInt16(252, ref.qformCode, le);
  view.setInt16(254, analyze ? 2 : ref.sformCode, le);
  for (let k = 0; k < 3; k++) view.setFloat32(256 + 4 * k, ref.quatern[k], le);
  for (let k = 0; k < 3; k++) view.setFloat32(268 + 4 * k, ref.qoffset[k], le);
  for (let k = 0; k < 12; k++) view.setFloat32(280 + 4 * k, ref.srow[k], le);
  writeText(view, 344, 'n+1\0');
}

function writeVoxels(view: DataView, data: ArrayLike<number>, datatype: NiftiWriteDatatype): void {
  if (datatype === 'float32') {
    for (let i = 0; i < data.length; i++) view.setFloat32(VOX_OFFSET + 4 * i, data[i], true);
    return;
  }
  const [lo, hi] = INTEGER_RANGE[datatype];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw fail(`volume.data[${i}] is ${v}, not an integer in ${lo}..${hi} as ${datatype} labels must be`);
    }
    if (datatype === 'uint8') view.setUint8(VOX_OFFSET + i, v);
    else view.setInt16(VOX_OFFSET + 2 * i, v, true);
  }
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const compressed = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

/**
 * Encodes `volume` as a NIfTI-1 file in the geometry of `reference` (the `header` of the volume
 * read with readNifti); `volume.dims` must start with the reference's x, y, z.
 */
export async function writeNifti(
  volume: VolumeToWrite, reference: NiftiHeader, options: NiftiWriteOptions,
): Promise<Uint8Array> {
  checkArguments(volume, reference, options.datatype);
  const bytes = new Uint8Array(VOX_OFFSET + volume.data.length * NIFTI_DATATYPES[options.datatype].bytes);
  const view = new DataView(bytes.buffer);
  writeHeader(view, volume.dims, reference, options.datatype);
  writeVoxels(view, volume.data, options.datatype);
  return options.gzip ? gzip(bytes) : bytes;
}
