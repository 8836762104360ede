// Modules with parameters (the `nn` namespace of the public API), like torch.nn.
export { Module } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { LayerNorm } from './layernorm.js';
export { MultiHeadAttention, type AttentionOptions } from './attention.js';
export { Block, Mlp, LayerScale, type BlockOptions } from './block.js';
export { Conv2d, ConvTranspose2d, ConvModule, type Conv2dModuleOptions } from './conv.js';
export { BatchNorm2d, InstanceNorm2d, type BatchNorm2dOptions } from './norm.js';
