// Reading and writing NIfTI files on disk (Node only; the formats themselves are in nifti.ts and
// nifti-write.ts).

import { access, readFile } from 'node:fs/promises';
import { writeFileAtomically } from './atomic-write.js';
import { readNifti, type NiftiHeader, type NiftiVolume } from './nifti.js';
import { writeNifti, type NiftiWriteDatatype, type VolumeToWrite } from './nifti-write.js';

const HEADER_NAME = /\.hdr(\.gz)?$/i;

/** The .img next to a .hdr (plain or gzipped), or null when neither exists. */
async function findImageFile(headerPath: string): Promise<string | null> {
  const stem = headerPath.replace(HEADER_NAME, '');
  for (const candidate of [`${stem}.img`, `${stem}.img.gz`]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  return null;
}

/**
 * Reads a `.nii` / `.nii.gz`, or a `.hdr` / `.hdr.gz` with its `.img` / `.img.gz` beside it
 * (NIfTI pair or Analyze 7.5). Errors name the path.
 */
export async function readNiftiFile(path: string): Promise<NiftiVolume> {
  const bytes = await readFile(path);
  if (!HEADER_NAME.test(path)) return readNifti(bytes, path);
  const image = await findImageFile(path);
  if (!image) {
    const stem = path.replace(HEADER_NAME, '');
    throw new Error(`${path}: the voxels of a .hdr live in its .img, but neither ${stem}.img nor ${stem}.img.gz exists`);
  }
  return readNifti(bytes, path, await readFile(image));
}

/**
 * Writes `volume` in the geometry of `reference` (see writeNifti) to `path`, which must end in
 * .nii or .nii.gz (gzip is chosen by the extension). The file is replaced atomically (see
 * writeFileAtomically): a failure at any point leaves either the old file or the complete new one.
 */
export async function writeNiftiFile(
  path: string, volume: VolumeToWrite, reference: NiftiHeader, options: { datatype: NiftiWriteDatatype },
): Promise<void> {
  if (!/\.nii(\.gz)?$/i.test(path)) {
    throw new Error(`writeNiftiFile: ${path}: the name must end in .nii or .nii.gz (a single-file NIfTI-1 is written)`);
  }
  const bytes = await writeNifti(volume, reference, { datatype: options.datatype, gzip: /\.gz$/i.test(path) });
  await writeFileAtomically(path, (file) => file.writeFile(bytes));
}
