// One case of a dataset in memory: its image channels and label as Float32Arrays, and the header
// needed to write predictions back in the input's geometry.
//
// Layout: NIfTI stores x fastest (Fortran order over [X, Y, Z]), which read as a C-order array is
// [Z, Y, X]. That order is kept, channels outermost: image = [C, Z, Y, X] in C order, i.e. each
// channel is its file's data unchanged. A 4-D MSD file ([X, Y, Z, C] on disk) is already in this
// order, so nothing is converted, and axial slice k (the last NIfTI axis, as TransSeg windows it)
// is the contiguous run data[k·X·Y … (k+1)·X·Y) of each channel.

import type { NiftiHeader, NiftiVolume } from '../io/nifti.js';
import { channelCount, fileStem, remapLabelValues, type LabelRemap, type VolumeReader } from './dataset.js';

export interface LoadedCase {
  id: string;
  /** [C, Z, Y, X] in C order (NIfTI's x-fastest order per channel). */
  image: Float32Array;
  /** [Z, Y, X] in C order, remapped; absent for an unlabelled case. */
  label?: Float32Array;
  /** [X, Y, Z] in NIfTI (nibabel) axis order. */
  dims: [number, number, number];
  channels: number;
  /** The header of the first image file: the geometry to write predictions in. */
  geometry: NiftiHeader;
}

/** A case as listed in a dataset (a test case has no label, and its id comes from its file name). */
export interface CaseEntry {
  id?: string;
  image: string[];
  label?: string;
}

const sameGrid = (a: NiftiVolume, b: NiftiVolume): boolean => [0, 1, 2].every((k) => a.dims[k] === b.dims[k]);

function concatenate(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Reads a case's image files (concatenating their channels in order) and its label, remapped with
 * `options.remap`. Throws when the files do not share one grid; validateDataset reports every such
 * problem of a dataset at once and is meant to run first.
 */
export async function loadCase(entry: CaseEntry, reader: VolumeReader, options: { remap?: LabelRemap } = {}): Promise<LoadedCase> {
  if (entry.image.length === 0) throw new Error('loadCase: entry.image lists no files');
  const volumes: NiftiVolume[] = [];
  for (const path of entry.image) volumes.push(await reader(path));
  const first = volumes[0];
  volumes.forEach((v, k) => {
    if (!sameGrid(v, first)) {
      throw new Error(`loadCase: ${entry.image[k]} has grid ${v.dims.slice(0, 3).join('×')}, but ${entry.image[0]} has ${first.dims.slice(0, 3).join('×')}`);
    }
  });
  const channels = volumes.reduce((sum, v) => sum + channelCount(v), 0);
  const image = volumes.length === 1 ? first.data : concatenate(volumes.map((v) => v.data));
  const loaded: LoadedCase = {
    id: entry.id ?? fileStem(entry.image[0]),
    image,
    dims: [first.dims[0], first.dims[1], first.dims[2]],
    channels,
    geometry: first.header,
  };
  if (entry.label === undefined) return loaded;
  const label = await reader(entry.label);
  if (!sameGrid(label, first) || channelCount(label) !== 1) {
    throw new Error(`loadCase: the label ${entry.label} has dims ${label.dims.join('×')}, but its image ${entry.image[0]} has grid ${loaded.dims.join('×')}`);
  }
  return { ...loaded, label: remapLabelValues(label.data, options.remap) };
}
