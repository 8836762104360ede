// The networks (the `model` namespace of the public API), like timm's models: the ViT encoder
// (2-D, or inflated to 3-D), the segmenter with its three decoders and optional pixel skip, the
// presets, and the model file (a trained segmenter as safetensors + a JSON header).
export { PRESETS, tokenGrid, validateConfig, type VitConfig, type HeadConfig } from './config.js';
export { VisionTransformer, type VitOptions } from './vit.js';
export {
  Segmenter, force2dConfig, centreSlice, type SegmenterOptions, type SegmenterForwardOptions, type DecoderKind,
} from './segmenter.js';
export { UperNet, UPERNET_FEATURE_INDICES, type UperNetOptions } from './decoders/upernet.js';
export { SetrPup, type SetrPupOptions } from './decoders/setr-pup.js';
export { ConvTrans, type ConvTransOptions } from './decoders/convtrans.js';
export { PixelSkip } from './pixel-skip.js';
export { pretrainedVit, loadVitWeights, HEAD_TENSORS, type CanonicalCheckpoint } from './pretrained.js';
export { loadWeights, readWeights, type LoadOptions } from './load-weights.js';
export { relativePositionIndex } from './relative-position-index.js';
export {
  readModelFileHeader, modelFileMetadata, MODEL_FILE_FORMAT, MODEL_FILE_VERSION,
  type ModelFileHeader, type SegmenterFileHeader, type EncoderFileHeader, type Preprocessing, type Inference,
  type PostProcessing, type Connectivity,
} from './model-file.js';
