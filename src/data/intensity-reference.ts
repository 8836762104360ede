// What the training scans' intensities looked like to the model, so that a scan whose intensities
// are on another scale is named rather than silently segmented into nonsense. A model trained with
// `--intensity none` on z-scored BRATS files scores Dice 0.19 on the same patients given as raw
// scanner intensities (docs/brats.md), and nothing in the prediction says why.
//
// The reference: per channel, the 1st, 50th and 99th percentiles of the training scans' voxels
// inside the scan (background.ts's foreground), after the model's intensity transform (both
// stages). A scan whose median, measured the same way, lies outside its channel's 1–99 % range is
// flagged: a real new patient's median sits near the training median, so only a different scale
// reaches the tails.

import { foregroundMask } from './background.js';
import { normalizeScan, windowIntensity, type IntensitySpec, type Scan } from './intensity.js';

/** Per-channel percentiles of the training scans' voxels inside the scan, as the model saw them. */
export interface IntensityReference {
  p1: number[];
  median: number[];
  p99: number[];
}

/** At most this many voxels per scan and channel are read (an even stride), to keep it fast. */
const SAMPLE = 1 << 16;

/** Per channel: the scan's voxels inside its foreground, transformed as the model sees them, sampled. */
function foregroundValues(scan: Scan, spec: IntensitySpec): Float32Array[] {
  const mask = foregroundMask(scan.image, scan.channels, scan.dims);
  const normalized = normalizeScan(spec, scan).image;
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) count++;
  // Every stride-th voxel inside, as indices: at most SAMPLE of them, not the whole foreground.
  const stride = Math.max(1, Math.ceil(count / SAMPLE));
  const picked = new Uint32Array(Math.ceil(count / stride));
  for (let i = 0, k = 0, j = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    if (k % stride === 0) picked[j++] = i;
    k++;
  }
  const n = mask.length;
  const window = windowIntensity(spec);
  return Array.from({ length: scan.channels }, (_, c) => window(Float32Array.from(picked, (i) => normalized[c * n + i]), 1));
}

/** The q-quantile (nearest rank) of sorted values. */
const quantile = (sorted: Float32Array, q: number) => sorted[Math.round(q * (sorted.length - 1))];

/** The reference of a set of training scans, pooled. Null when no scan has a voxel inside its foreground. */
export function intensityReference(scans: readonly Scan[], spec: IntensitySpec): IntensityReference | null {
  if (scans.length === 0) return null;
  const channels = scans[0].channels;
  const perScan = scans.map((s) => foregroundValues(s, spec));
  const reference: IntensityReference = { p1: [], median: [], p99: [] };
  for (let c = 0; c < channels; c++) {
    const pooled = new Float32Array(perScan.reduce((sum, v) => sum + v[c].length, 0));
    let at = 0;
    for (const values of perScan) {
      pooled.set(values[c], at);
      at += values[c].length;
    }
    if (pooled.length === 0) return null;
    pooled.sort();
    reference.p1.push(quantile(pooled, 0.01));
    reference.median.push(quantile(pooled, 0.5));
    reference.p99.push(quantile(pooled, 0.99));
  }
  return reference;
}

const show = (x: number) => Number(x.toPrecision(3)).toString();

/**
 * One line per channel of `scan` whose median (inside the scan, transformed as the model sees it)
 * lies outside the reference's 1–99 % range; empty when every channel is in range. `name` names
 * the scan, `modalities` the channels.
 */
export function intensityMismatches(
  scan: Scan, spec: IntensitySpec, reference: IntensityReference, name: string, modalities: readonly string[],
): string[] {
  if (reference.median.length !== scan.channels) return []; // the channel check elsewhere refuses such a scan
  const lines: string[] = [];
  foregroundValues(scan, spec).forEach((values, c) => {
    if (values.length === 0) return;
    const median = quantile(values.sort(), 0.5);
    const [low, high] = [reference.p1[c], reference.p99[c]];
    if (median >= low && median <= high) return;
    const kind = spec.kind === 'clip' ? `clip:${spec.aMin},${spec.aMax}` : spec.kind;
    lines.push(
      `${name}: ${modalities[c] ?? `channel ${c}`} has a median of ${show(median)} inside the scan after --intensity ${kind}, ` +
      `outside the training scans' 1–99 % range (${show(low)} to ${show(high)}, median ${show(reference.median[c])}): ` +
      'its intensities are not on the scale the model was trained on, so the segmentation is unlikely to mean anything',
    );
  });
  return lines;
}
