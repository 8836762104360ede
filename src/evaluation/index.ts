// Metrics and reports (the `evaluation` namespace of the public API): Dice (MONAI's and the
// paper's global Dice), HD95, and the per-case / per-class evaluation report.
export * from './metrics.js';
export * from './report.js';
