// BRATS-style inputs: a folder of patient folders, each holding one file per modality (and maybe a
// label and a brain mask) with names like `Flair_subtrMeanDivStd.nii.gz`. A modality pattern is a
// case-insensitive piece of the file name ("flair", "t1c"); in each folder exactly one NIfTI file
// must contain it. `transseg predict` matches the model's modality names this way, and
// examples/brats.ts writes its dataset.json with the same patterns.

/** NIfTI file names (.nii, .nii.gz, .hdr, gzipped or not). */
export const NIFTI_FILE = /\.(nii|hdr)(\.gz)?$/i;

/**
 * For each pattern, the one NIfTI file of `files` whose name contains it (case-insensitive).
 * Throws, naming `folder`, the pattern and the candidates, when none or several match.
 */
export function matchModalityFiles(files: readonly string[], patterns: readonly string[], folder: string): string[] {
  const nifti = files.filter((f) => NIFTI_FILE.test(f));
  return patterns.map((pattern) => {
    const p = pattern.toLowerCase();
    const hits = nifti.filter((f) => f.toLowerCase().includes(p));
    if (hits.length === 1) return hits[0];
    if (hits.length === 0) throw new Error(`${folder}: no NIfTI file name contains '${pattern}' (files: ${nifti.join(', ') || 'none'})`);
    throw new Error(`${folder}: ${hits.length} files match '${pattern}' (${hits.join(', ')}); give a pattern that picks one`);
  });
}
