// Cropping a case to its foreground, as MONAI pipelines do with ScaleIntensityRanged followed by
// CropForegroundd(source_key="image"): the foreground is where the intensity-transformed image
// differs from its background (background.ts). For CT clipped to a window that is the body (air
// falls below the window's lower end and becomes 0); for skull-stripped MRI the brain, whether its
// outside is 0 or a z-score's −mean/std. Training crops every case once;
// prediction crops, predicts the box and puts background everywhere outside it.

import type { IntensityTransform } from './intensity.js';
import { cropForeground, cropToBox, type Box } from './resize.js';
import type { LoadedCase } from './volume.js';

type Volume = Pick<LoadedCase, 'image' | 'dims' | 'channels'>;

/** The box of `volume`'s foreground (see the top of the file), grown by `margin` voxels. */
export function foregroundBox(volume: Volume, intensity: IntensityTransform, margin: number): Box {
  return cropForeground(intensity(volume.image, volume.channels), volume.channels, volume.dims, margin).box;
}

/** `volume` (and its label, if any) cropped to `box`. */
export function cropCase<T extends Volume & { label?: Float32Array }>(volume: T, box: Box): T {
  const dims = box.end.map((e, k) => e - box.start[k]) as [number, number, number];
  return {
    ...volume,
    image: cropToBox(volume.image, volume.channels, volume.dims, box),
    dims,
    ...(volume.label ? { label: cropToBox(volume.label, 1, volume.dims, box) } : {}),
  };
}
