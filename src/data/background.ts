// The scan's background: what surrounds the body or brain in a volume. Raw MRI and CT clipped to a
// window have 0 there, which is what MONAI's CropForeground and nnU-Net's non-zero mask assume.
// Volumes normalised before they reach us do not: a z-scored BRATS file ("subtrMeanDivStd") holds
// −mean/std, e.g. −3.55, everywhere outside the brain, so a "nonzero" rule keeps the whole grid.
// The rule here: a channel's background is the value its 8 corner voxels share (a scan's corners
// are outside the anatomy); when they differ it is 0, the usual rule. A voxel is foreground when
// any channel differs from its background.

import { checkVolume } from './check-volume.js';

type Dims = readonly [number, number, number];

/** Per channel of `image` ([C, Z, Y, X] over dims [X, Y, Z]): the value its 8 corners share, else 0. */
export function backgroundValues(image: Float32Array, channels: number, dims: Dims): Float32Array {
  checkVolume('backgroundValues', image, channels, dims);
  const [X, Y, Z] = dims;
  const n = X * Y * Z;
  const corners: number[] = [];
  for (const z of [0, Z - 1]) for (const y of [0, Y - 1]) for (const x of [0, X - 1]) corners.push(x + X * (y + Y * z));
  const values = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const first = image[c * n + corners[0]];
    values[c] = corners.every((i) => image[c * n + i] === first) ? first : 0;
  }
  return values;
}

/** 1 where any channel of `image` differs from its background (backgroundValues), else 0. */
export function foregroundMask(image: Float32Array, channels: number, dims: Dims): Uint8Array {
  checkVolume('foregroundMask', image, channels, dims);
  const n = dims[0] * dims[1] * dims[2];
  const background = backgroundValues(image, channels, dims);
  const mask = new Uint8Array(n);
  for (let c = 0; c < channels; c++) {
    const b = background[c];
    for (let i = 0; i < n; i++) if (image[c * n + i] !== b) mask[i] = 1;
  }
  return mask;
}
