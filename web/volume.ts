// The chosen image files as the case the model reads (in the page's worker): each file parsed by the library's NIfTI
// reader (once per File), their channels joined in order by loadCase as `transseg predict` does,
// and the channel count checked against the model with the command line's own message.

import { data, infer, io, loadCase, type LoadedCase, type model } from '../src/index.js';

const { fileStem } = data;
const { readNifti } = io;
const { channelMismatch } = infer;
type Affine = io.Affine;
type NiftiVolume = io.NiftiVolume;
type SegmenterFileHeader = model.SegmenterFileHeader;

/** A chosen file and how messages name it (e.g. "FLAIR: case_0000.nii.gz"). */
export interface NamedFile {
  name: string;
  file: File;
}

export interface ImageCase {
  volume: LoadedCase;
  /** Voxel-to-world affine of the first file: how the viewer orients the slices. */
  affine: Affine;
  /** The names messages use, in channel order. */
  names: string[];
}

const parsed = new WeakMap<File, Promise<NiftiVolume>>();

function readNiftiOnce(file: File): Promise<NiftiVolume> {
  let volume = parsed.get(file);
  if (!volume) {
    volume = file.arrayBuffer().then((buffer) => readNifti(new Uint8Array(buffer), file.name));
    parsed.set(file, volume);
  }
  return volume;
}

/** Reads the files (one per modality, or one holding them all) into one case named after the first. */
export async function readCase(files: NamedFile[]): Promise<ImageCase> {
  const volumes = new Map<string, NiftiVolume>();
  for (const { name, file } of files) volumes.set(name, await readNiftiOnce(file));
  const names = files.map((f) => f.name);
  const volume = await loadCase({ id: fileStem(files[0].file.name), image: names }, async (name) => volumes.get(name)!);
  return { volume, affine: volumes.get(names[0])!.affine, names };
}

/** Why the case does not fit the model, or null when it does. */
export function channelProblem(image: { channels: number; names: string[] }, header: SegmenterFileHeader): string | null {
  const mismatch = channelMismatch(image.channels, header.encoder.inChannels, header.modalities);
  if (!mismatch) return null;
  const choose = header.modalities.length > 1 ? `; choose one file per modality, or one 4-D file holding all ${header.modalities.length}` : '';
  return `${image.names.join(', ')}: ${mismatch}${choose}.`;
}
