// The public API of transseg-webgpu (runtime-neutral: Node, Deno, Bun and browsers; no `node:`
// import is reachable from here, test/public-api.test.ts checks). Node-only helpers (files, run
// folders, the hub, the ablation runner) are in src/node.ts (`transseg-webgpu/node`).
//
// At the top: the core (device, tensors, memory scopes, autograd) and the flows a user starts with
// (load a model file and predict a case, train a segmenter, inflate a 2-D checkpoint, score it).
// Below: one namespace per area, each the whole public surface of its folder, as torch.nn,
// torch.optim, timm.models and monai.metrics are. The design is in README ("The library") and
// docs/architecture.md; test/public-api.test.ts pins every name.

// The core.
export { Gpu, type DispatchSpec, type Bindable } from './gpu/gpu.js';
export { detectRuntime, NO_ADAPTER_HELP, type DeviceInfo, type DeviceOptions, type RuntimeName } from './gpu/device.js';
export type { MemoryStats } from './gpu/pool.js';
export { cpuSubgroups } from './ops/subgroups.js';
export { CONV_3X3_ALGORITHMS, setConv3x3Algorithm, type Conv3x3Algorithm } from './ops/winograd.js';
export { Tensor, numel } from './tensor/tensor.js';
export type { HostTensor } from './tensor/host-tensor.js';
export { scope, scopeAsync, keep } from './tensor/scope.js';
export { backward, noGrad, isGradEnabled, clearTape } from './autograd/tape.js';

// The flows.
export { segmenterFromFile, type LoadedSegmenter } from './checkpoint/segmenter-file.js';
export { predictCase, type CasePrediction, type PredictCaseOptions, type PredictionVolume } from './infer/predict-file.js';
export { predictVolume, type PredictOptions, type VolumePrediction } from './infer/predict.js';
export { Trainer, DEFAULT_SETTINGS, type TrainSettings, type TrainerStore } from './train/trainer.js';
export { Segmenter, type SegmenterOptions } from './model/segmenter.js';
export { VisionTransformer } from './model/vit.js';
export { PRESETS, type VitConfig } from './model/config.js';
export { pretrainedVit } from './model/pretrained.js';
export { adaptCheckpoint, type AdaptedCheckpoint } from './checkpoint/adapters.js';
export { inflateCheckpoint } from './inflate/checkpoint.js';
export { loadCase, type LoadedCase } from './data/volume.js';
export { DiceAccumulator, monaiDice, globalDice, hausdorff95 } from './evaluation/metrics.js';
export { evaluationReport } from './evaluation/report.js';

// The namespaces.
export * as ops from './ops/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export * as model from './model/index.js';
export * as checkpoint from './checkpoint/index.js';
export * as inflate from './inflate/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as infer from './infer/index.js';
export * as evaluation from './evaluation/index.js';
export * as random from './util/random.js';
