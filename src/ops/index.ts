// Differentiable tensor ops (the `ops` namespace of the public API), like torch.* and
// torch.nn.functional: each records its backward on the autograd tape. Layout helpers
// (layout.ts) and kernel selection (subgroups.ts) are internal.
export { add, sub, mul, div, scale, addScalar, neg, relu, gelu, exp, log, sqrt, square } from './elementwise.js';
export { sum, mean, sumToShape, broadcastTo } from './reduce.js';
export { full, zeros, reshape, permute, transpose, slice, split, concat, copy } from './shape.js';
export { matmul, type MatmulOptions } from './matmul.js';
export { softmax, logSoftmax } from './softmax.js';
export { layerNorm } from './layernorm.js';
export { attention, type AttentionOptions } from './attention.js';
export { conv2d, convTranspose2d, patchEmbed3d, type Conv2dOptions } from './conv.js';
export { upsampleBilinear } from './resample.js';
export { maxPool2d, adaptiveAvgPool2d } from './pool.js';
export { batchNorm2d, instanceNorm2d, type BatchNormOptions, type BatchNormState } from './channelnorm.js';
export { dropout, dropout2d } from './dropout.js';
export { relativePositionBias, RelativePositionIndex } from './gather.js';
export {
  crossEntropyLoss, diceLoss, focalLoss, diceFocalLoss, diceCELoss, type DiceOptions, type FocalOptions,
} from './loss.js';
