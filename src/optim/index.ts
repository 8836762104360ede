// Optimisation (the `optim` namespace of the public API), like torch.optim: AdamW, gradient-norm
// clipping, the warm-up + linear-decay learning-rate schedule.
export { AdamW, type AdamWOptions, type AdamWState, type ParamGroup, type StepOptions } from './adamw.js';
export { clipGradNorm, globalGradNorm, type GradNorm } from './clip.js';
export { linearWarmupDecay, type LinearWarmupDecayOptions } from './schedule.js';
