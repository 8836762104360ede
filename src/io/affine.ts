// Voxel-to-world rules of NIfTI-1/2 and Analyze 7.5, as nibabel applies them. An affine is a
// row-major 4×4 (number[16]) taking a 0-based voxel index (i, j, k, 1) to RAS+ millimetres
// (+x Right, +y Anterior, +z Superior).
//
// gl-matrix builds the qform (quaternion → rotation, scaled and offset). Kept by hand: the
// diagonal affines of the fallback and SPM rules (a few constants; gl-matrix's composition writes
// −0 off the diagonal, which the exact tests of those rules would have to allow) and axisCodes
// (nibabel's aff2axcodes, an assignment of axes, not matrix algebra gl-matrix offers).

import { mat4, quat } from 'gl-matrix';

export type Affine = number[];

/** The header fields the NIfTI rule reads. */
export interface NiftiGeometry {
  /** dim[0..7] as stored: dim[0] is the number of dimensions. */
  dim: readonly number[];
  /** pixdim[0..7] as stored: pixdim[0] is qfac, pixdim[1..3] the voxel sizes. */
  pixdim: readonly number[];
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  quatern: readonly number[];
  /** qoffset_x, qoffset_y, qoffset_z. */
  qoffset: readonly number[];
  /** srow_x, srow_y, srow_z, four numbers each. */
  srow: readonly number[];
}

/** Method 3 of nifti1.h: the general affine stored in srow_x/y/z. */
export function sformAffine(srow: readonly number[]): Affine {
  return [...srow.slice(0, 12), 0, 0, 0, 1];
}

/**
 * Method 2 of nifti1.h: rotation R from the unit quaternion (a, b, c, d) with
 * a = sqrt(1 − b² − c² − d²), times the voxel sizes pixdim[1..3] (the third one times
 * qfac = sign of pixdim[0], 0 counting as +1), plus the offset. gl-matrix does the quaternion →
 * rotation → scaled affine (its quaternions are [x, y, z, w] = [b, c, d, a]).
 */
export function qformAffine(quatern: readonly number[], qoffset: readonly number[], pixdim: readonly number[]): Affine {
  const [b, c, d] = quatern;
  // float32 rounding can push b² + c² + d² just past 1: then a = 0 and the quaternion is
  // normalised, as nibabel's quat2mat divides by its norm; for a proper unit quaternion a no-op.
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const qfac = pixdim[0] < 0 ? -1 : 1;
  // Every output is a Float64Array of ours: gl-matrix's create() and its default f32 ARRAY_TYPE
  // are never used, so nothing is rounded to f32 (setMatrixArrayType would be a global switch).
  const rotation = quat.normalize(new Float64Array(4), [b, c, d, a]);
  const columnMajor = mat4.fromRotationTranslationScale(new Float64Array(16), rotation, [qoffset[0], qoffset[1], qoffset[2]], [pixdim[1], pixdim[2], pixdim[3] * qfac]);
  return Array.from(mat4.transpose(new Float64Array(16), columnMajor));
}

/** The first three entries of dim[1..] and pixdim[1..], padded with 1 below three dimensions. */
function spatial(dim: readonly number[], pixdim: readonly number[]): { size: number[]; zoom: number[] } {
  const size = [1, 1, 1];
  const zoom = [1, 1, 1];
  for (let k = 0; k < Math.min(3, dim[0]); k++) {
    size[k] = dim[k + 1];
    zoom[k] = pixdim[k + 1];
  }
  return { size, zoom };
}

/** Diagonal voxel sizes with the x axis flipped (radiological storage), voxel `centre` at 0. */
function flippedDiagonal(zoom: number[], centre: number[]): Affine {
  const z = [-zoom[0], zoom[1], zoom[2]];
  return [z[0], 0, 0, -centre[0] * z[0], 0, z[1], 0, -centre[1] * z[1], 0, 0, z[2], -centre[2] * z[2], 0, 0, 0, 1];
}

/**
 * nibabel's fallback when both codes are 0 (its `get_base_affine`): voxel sizes on the diagonal,
 * x flipped, the centre voxel (dim − 1) / 2 at the origin. nifti1.h's method 1 would use
 * diag(pixdim) with no flip or offset; we follow nibabel, which MONAI and most Python tools use.
 */
export function fallbackAffine(dim: readonly number[], pixdim: readonly number[]): Affine {
  const { size, zoom } = spatial(dim, pixdim);
  return flippedDiagonal(zoom, size.map((s) => (s - 1) / 2));
}

/**
 * Analyze 7.5 as SPM and nibabel read it: like the fallback, but centred on the SPM `origin`
 * field (1-based voxel, int16 × 3 where Analyze has `originator`) when it is set and plausible.
 */
export function spmOriginAffine(dim: readonly number[], pixdim: readonly number[], origin: readonly number[]): Affine {
  const { size, zoom } = spatial(dim, pixdim);
  const usable = origin.some((o) => o !== 0) && origin.every((o, k) => o > -size[k] && o < 2 * size[k]);
  return flippedDiagonal(zoom, usable ? origin.map((o) => o - 1) : size.map((s) => (s - 1) / 2));
}

/** The NIfTI rule: the sform if sform_code > 0, else the qform if qform_code > 0, else the fallback. */
export function niftiAffine(g: NiftiGeometry): Affine {
  if (g.sformCode > 0) return sformAffine(g.srow);
  if (g.qformCode > 0) return qformAffine(g.quatern, g.qoffset, g.pixdim);
  return fallbackAffine(g.dim, g.pixdim);
}

/**
 * The world direction each voxel axis points to most, as nibabel's `aff2axcodes` letters
 * (e.g. "RAS", "LPS"): voxel axes are matched greedily with world axes by the largest entry of
 * the column-normalised rotation. nibabel first orthogonalises the matrix (SVD); the two agree
 * unless an axis is close to 45° between two world axes.
 */
export function axisCodes(affine: Affine): string {
  const letters = [['L', 'R'], ['P', 'A'], ['I', 'S']];
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[4 * r + c]));
  for (let c = 0; c < 3; c++) {
    const norm = Math.hypot(m[0][c], m[1][c], m[2][c]) || 1;
    for (let r = 0; r < 3; r++) m[r][c] /= norm;
  }
  const codes = ['', '', ''];
  const freeRows = new Set([0, 1, 2]);
  const freeCols = new Set([0, 1, 2]);
  while (freeCols.size > 0) {
    let best = { r: -1, c: -1, v: -1 };
    for (const r of freeRows) for (const c of freeCols) if (Math.abs(m[r][c]) > best.v) best = { r, c, v: Math.abs(m[r][c]) };
    codes[best.c] = letters[best.r][m[best.r][best.c] >= 0 ? 1 : 0];
    freeRows.delete(best.r);
    freeCols.delete(best.c);
  }
  return codes.join('');
}
