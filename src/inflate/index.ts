// 2D→3D weight transfer: host-side math on Float32Arrays, applied once when a 2-D checkpoint is
// loaded into a 3-D model.
export { toGrayAndSpread, inflateDepth, inflatePatchEmbed, linearPatchToConv, type InflationMethod, type PatchEmbedInflation } from './patch-embed.js';
export { resizePositionEmbedding, type PositionResizeMode, type PositionResizeOptions } from './position-embedding.js';
export { geometricRatio, resizeRelativePositionBias } from './relative-position.js';
export { cubicSplineWeights } from './spline.js';
export { inflateCheckpoint, type InflateOptions, type InflatedEncoder } from './checkpoint.js';
