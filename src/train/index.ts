// Training (the `train` namespace of the public API): the Trainer (steps, validation, checkpoints
// through a TrainerStore), its settings, the optimiser it builds, and the curves as SVG. Setting a
// run up from files (prepareRun) and the run folder (RunFolder) are in the Node entry.
export {
  Trainer, DEFAULT_SETTINGS, segmenterOptimizer, decays,
  type TrainSettings, type LossKind, type TrainerStore, type TrainerState, type Checkpoint, type LogRecord,
  type Progress, type Validation, type ValidationProgress,
} from './trainer.js';
export { curvesSvg, type Curves } from './plot.js';
export { validationsLeft } from './rate.js';
export { setUpRun, type RunOptions, type RunInputs, type ResumePoint, type PreparedRun } from './setup.js';
