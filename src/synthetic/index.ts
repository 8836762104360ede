// Demo and test scaffolding, kept out of the library core (nothing under src/ but this folder
// imports it): synthetic CT-like phantoms, the MSD-layout writer, and the small 2-D ViT
// pre-trained on phantom slices that stands in for an ImageNet checkpoint in `npm run demo`.

export * from './phantom.js';
export * from './phantom-node.js';
export * from './pretrain2d.js';
export * from './pretrain2d-node.js';
export * from './depth-phantom.js';
