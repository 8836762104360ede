// A NIfTI header on an oblique grid with both transforms set, qfac −1 and mm units: output written
// "in the input's geometry" must keep every one of these fields.
import type { NiftiHeader } from '../../src/io/nifti.js';

/** `spacing` is the voxel size in mm; `datatypeCode` the NIfTI code of the stored type (4 int16, 16 float32). */
export function obliqueHeader(dims: number[], spacing: [number, number, number], datatypeCode: number): NiftiHeader {
  const [sx, sy, sz] = spacing;
  return {
    format: 'nifti1', pair: false, littleEndian: true,
    dim: [dims.length, ...dims, ...new Array(7 - dims.length).fill(1)], pixdim: [-1, sx, sy, sz, 1, 1, 1, 1],
    datatypeCode, voxOffset: 352, sclSlope: 1, sclInter: 0, dimInfo: 57, intentCode: 0, intentName: '', xyztUnits: 10,
    qformCode: 1, sformCode: 2,
    quatern: [0.1, -0.2, 0.3].map(Math.fround), qoffset: [-90.5, 12.25, 40].map(Math.fround),
    srow: [sx, 0.05, 0, -90.5, -0.02, sy, 0.3, 12.25, 0, -0.1, sz, 40].map(Math.fround),
    description: '',
  };
}
