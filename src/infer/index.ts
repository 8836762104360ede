// Prediction (the `infer` namespace of the public API): a volume through a segmenter slice window
// by slice window, a case through a model file's recorded preprocessing and inference settings,
// post-processing, label overlays, and 2-D image classification.
export { predictVolume, flipPlanes, type PredictOptions, type VolumePrediction } from './predict.js';
export {
  predictCase, modelPredictOptions, channelMismatch, labelDatatype,
  type CasePrediction, type PredictCaseOptions, type PredictionVolume,
} from './predict-file.js';
export { postProcess, connectedComponents, validatePostProcessing } from './postprocess.js';
export {
  overlayPng, overlayFigureSvg, overlayScale, mostForegroundSlices, radiologicalView, classColour, OVERLAY_MIN_SIZE,
  type LabelledSlice, type SliceView,
} from './overlay.js';
export { classifyImage, imageToInput, type Prediction } from './classify.js';
