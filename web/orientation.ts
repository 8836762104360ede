// Where each voxel axis goes in the three views, from the volume's affine, in the radiological
// convention the PNG overlays use (src/infer/overlay.ts): axial seen from the feet (the patient's
// right on the left, anterior up), coronal seen from the front (right on the left, superior up),
// sagittal seen from the patient's left (anterior on the left, superior up). Voxel axes are
// matched with world axes by axisCodes, so an oblique volume gets its nearest such view.

import { io } from '../src/index.js';

const { axisCodes } = io;
type Affine = io.Affine;

export type ViewName = 'axial' | 'coronal' | 'sagittal';

export const VIEW_NAMES: readonly ViewName[] = ['axial', 'coronal', 'sagittal'];

/** One picture axis: the voxel axis along it (0 x, 1 y, 2 z), and whether index 0 is its last voxel. */
export interface PictureAxis {
  axis: number;
  flip: boolean;
}

export interface ViewAxes {
  /** The voxel axis the slice slider moves along. */
  slice: number;
  columns: PictureAxis;
  rows: PictureAxis;
}

/** World axes as axisCodes letters: [negative end, positive end]. */
const WORLD = [['L', 'R'], ['P', 'A'], ['I', 'S']] as const;
const [LR, PA, IS] = [0, 1, 2];

/** Per view: the world axis of the slices, and of the columns and rows with the end shown first. */
const LAYOUT: Record<ViewName, { slice: number; columns: [number, string]; rows: [number, string] }> = {
  axial: { slice: IS, columns: [LR, 'R'], rows: [PA, 'A'] },
  coronal: { slice: PA, columns: [LR, 'R'], rows: [IS, 'S'] },
  sagittal: { slice: LR, columns: [PA, 'A'], rows: [IS, 'S'] },
};

export function viewAxes(affine: Affine, view: ViewName): ViewAxes {
  const codes = [...axisCodes(affine)];
  const voxelAxis = (world: number) => codes.findIndex((c) => (WORLD[world] as readonly string[]).includes(c));
  const picture = ([world, first]: [number, string]): PictureAxis => {
    const axis = voxelAxis(world);
    // Voxel indices grow towards codes[axis]: if that is the end shown first, count down.
    return { axis, flip: codes[axis] === first };
  };
  const layout = LAYOUT[view];
  return { slice: voxelAxis(layout.slice), columns: picture(layout.columns), rows: picture(layout.rows) };
}

/** Voxel sizes (mm) along x, y, z: the lengths of the affine's first three columns. */
export function voxelSizes(affine: Affine): [number, number, number] {
  const size = (c: number) => Math.hypot(affine[c], affine[4 + c], affine[8 + c]) || 1;
  return [size(0), size(1), size(2)];
}
