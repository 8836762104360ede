// The Node-only part of the public API (`transseg-webgpu/node`): files on disk, datasets and case
// folders, run folders and run setup, hub downloads, the ablation runner, and the CLI's commands
// from code. Everything runtime-neutral is in src/index.ts; this entry adds to it, it does not
// repeat it. (Bun runs these too; Deno with its Node compatibility.)

// Files: NIfTI, safetensors, atomic writes (no partly written file after an error or a kill).
export { readNiftiFile, writeNiftiFile } from './io/nifti-node.js';
export { readSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile } from './io/safetensors-node.js';
export { writeFileAtomically } from './io/atomic-write.js';

// Checkpoints: a 2-D checkpoint file of any supported layout, and `hf:` hub references.
export { loadCheckpointFile } from './checkpoint/load.js';
export { resolveWeights, type ResolvedWeights, type ResolveOptions } from './checkpoint/hub-node.js';

// Data: an MSD dataset.json and its cases, and folders of patient folders.
export { readDatasetFile, openDataset, loadCaseFile } from './data/load-node.js';
export { caseFolders, subfolders, type FolderCase } from './data/case-folders-node.js';

// Training runs: the setup from options (dataset, weights, model), the run folder (checkpoints,
// metrics.jsonl, curves) the Trainer writes through.
export { prepareRun, readRunOptions, type DownloadProgress } from './train/setup-node.js'; // RunOptions, PreparedRun: the train namespace
export { RunFolder } from './train/store-node.js';

// The ablation study (settings × seeds) and its statistics, report and plot.
export * as ablation from './ablation/index.js';

// The CLI from code: a command's run, and the one-line progress display the commands draw.
export { runCommand } from './cli/run-command.js';
export { ProgressLine } from './cli/progress.js';
export type { EvaluateReportFile } from './cli/evaluate.js';
