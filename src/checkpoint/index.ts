// Foreign 2-D ViT checkpoints (timm ViT/DeiT/DINO/BEiT, Hugging Face ViT/BEiT, vit-pytorch) mapped
// onto canonical timm names and a VitConfig. loadCheckpointFile (Node) is in ./load.js.
export { adaptCheckpoint, type AdaptOptions, type AdaptedCheckpoint } from './adapters.js';
export { canonicalShapes, checkComplete } from './canonical.js';
export { CHECKPOINT_FORMATS, detectFormat, isCheckpointFormat, type CheckpointFormat } from './detect.js';
export type { MappingEntry } from './mapping.js';
