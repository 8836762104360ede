// Foreign 2-D ViT checkpoints (timm ViT/DeiT/DINO/BEiT, Hugging Face ViT/BEiT, vit-pytorch) mapped
// onto canonical timm names and a VitConfig. loadCheckpointFile (Node) is in ./load.js.
export { adaptCheckpoint, type AdaptOptions, type AdaptedCheckpoint } from './adapters.js';
export { canonicalShapes, checkComplete } from './canonical.js';
export { CHECKPOINT_FORMATS, detectFormat, isCheckpointFormat, type CheckpointFormat } from './detect.js';
export type { MappingEntry } from './mapping.js';
// A trained segmenter's model file (ours, or the authors' PyTorch layout) → a ready Segmenter.
export { segmenterFromFile, segmenterFileContents, type LoadedSegmenter } from './segmenter-file.js';
export {
  importTranssegTorch, exportTranssegTorch, isTranssegTorchLayout, TRANSSEG_TORCH_FORMAT, type ImportedSegmenter,
} from './transseg-torch.js';
export {
  parseHubReference, isHubReference, hubSettings, HUB_PREFIX, DEFAULT_HUB_FILE, type HubReference, type HubSettings,
} from './hub-config.js';
