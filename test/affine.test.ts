// qformAffine (gl-matrix's quaternion → rotation) against nifti1.h's quatern_to_mat44 written out
// as plain loops, in f64. The nibabel agreement on real files is in test/nifti-read.test.ts.
import { describe, expect, it } from 'vitest';
import { qformAffine } from '../src/io/affine.js';

/** nifti1_io.c quatern_to_mat44 (with nibabel's normalisation when a = 0), row-major 4×4. */
function reference(quatern: number[], qoffset: number[], pixdim: number[]): number[] {
  const [b, c, d] = quatern;
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const n = a * a + b * b + c * c + d * d;
  const R = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c],
  ];
  const zoom = [pixdim[1], pixdim[2], pixdim[3] * (pixdim[0] < 0 ? -1 : 1)];
  const out: number[] = [];
  for (let r = 0; r < 3; r++) {
    for (let col = 0; col < 3; col++) out.push((R[r][col] / n) * zoom[col]);
    out.push(qoffset[r]);
  }
  return [...out, 0, 0, 0, 1];
}

describe('qformAffine', () => {
  it('matches nifti1.h for random rotations, both qfac signs, and a quaternion past unit length', () => {
    let seed = 7;
    const uniform = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const cases: [number[], number[], number[]][] = [];
    for (let i = 0; i < 200; i++) {
      // A random unit quaternion with a ≥ 0 (NIfTI stores b, c, d only).
      const q = [uniform(), uniform(), uniform(), uniform()];
      const len = Math.hypot(...q) * Math.sign(q[3] || 1);
      cases.push([q.slice(0, 3).map((v) => v / len), [uniform() * 100, uniform() * 100, uniform() * 100], [i % 2 ? -1 : 1, 0.5 + Math.abs(uniform()), 1 + Math.abs(uniform()), 2.5]]);
    }
    // float32 storage can push b² + c² + d² past 1 (a = 0): the rotation is normalised.
    cases.push([[0.6, 0.6, 0.53], [1, 2, 3], [0, 1, 1, 1]]);
    let worst = 0;
    for (const [quatern, qoffset, pixdim] of cases) {
      const got = qformAffine(quatern, qoffset, pixdim);
      const want = reference(quatern, qoffset, pixdim);
      got.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - want[k]))));
    }
    // Both are f64 products of the same numbers in a different order: a few ulp of entries ≤ 100.
    expect(worst).toBeLessThan(1e-13);
  });
});
