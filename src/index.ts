// The public API of transseg-webgpu.
export { Gpu, uniforms, type DispatchSpec } from './gpu/gpu.js';
export { acquireDevice, detectRuntime, NO_ADAPTER_HELP, type DeviceInfo, type RuntimeName } from './gpu/device.js';
export type { MemoryStats } from './gpu/pool.js';
export { Tensor, numel } from './tensor/tensor.js';
export type { HostTensor } from './tensor/host-tensor.js';
export { scope, scopeAsync, keep } from './tensor/scope.js';
export { backward, noGrad, isGradEnabled, clearTape, record } from './autograd/tape.js';

export { matmul, type MatmulOptions } from './ops/matmul.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/softmax.js';
export * from './ops/layernorm.js';
export * from './ops/attention.js';
export * from './ops/conv.js';
export * from './ops/resample.js';
export * from './ops/pool.js';
export * from './ops/channelnorm.js';
export * from './ops/dropout.js';
export * from './ops/loss.js';

export { Module } from './nn/module.js';
export { Linear, type LinearOptions } from './nn/linear.js';
export { LayerNorm } from './nn/layernorm.js';
export { MultiHeadAttention, type AttentionOptions } from './nn/attention.js';
export { Block, Mlp, LayerScale, type BlockOptions } from './nn/block.js';
export * from './nn/conv.js';
export * from './nn/norm.js';

export * from './ops/gather.js';
export * from './model/config.js';
export * from './model/vit.js';
export * from './model/segmenter.js';
export * from './model/decoders/upernet.js';
export * from './model/decoders/setr-pup.js';
export * from './model/decoders/convtrans.js';
export * from './model/pretrained.js';
export { loadWeights, readWeights, type LoadOptions } from './model/load-weights.js';
export * from './model/model-file.js';
export * from './checkpoint/index.js';
export * from './inflate/index.js';
export { relativePositionIndex } from './model/relative-position-index.js';
export * from './inflate/checkpoint.js';
export * from './data/index.js';
export * from './infer/predict.js';
export * from './evaluation/metrics.js';
export * from './evaluation/report.js';
export * from './train/trainer.js';
export * from './infer/classify.js';
export * from './io/png.js';
export * from './io/safetensors.js';
export * from './io/nifti.js';
export * from './io/nifti-write.js';
export * from './io/affine.js';

export * from './optim/adamw.js';
export * from './optim/clip.js';
export * from './optim/schedule.js';
export * from './checkpoint/transseg-torch.js';
export * from './checkpoint/hub-config.js';

// The ablation's statistics, settings, table and plot (the runner, Node-only, is src/ablation/run-node.ts).
export { pairedDifference, sampleSd, summarise, tCritical95, type PairedDifference, type Summary } from './ablation/stats.js';
export * from './ablation/settings.js';
export { ablationMarkdown } from './ablation/report.js';
export { ablationSvg } from './ablation/plot.js';
export type { AblationResult, AblationRun } from './ablation/run-node.js';
export { curvesSvg, type Curves } from './train/plot.js';
