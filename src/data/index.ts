// The data pipeline: MSD datasets, cases, D-slice windows, intensity, resizing, augmentation.
// Plain TypeScript; reading files from disk is in load-node.ts (Node only, not re-exported here).
export * from './dataset.js';
export * from './volume.js';
export * from './windows.js';
export * from './intensity.js';
export * from './intensity-reference.js';
export * from './resize.js';
export { backgroundValues, foregroundMask } from './background.js';
export * from './augment.js';
