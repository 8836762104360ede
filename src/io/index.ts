// Medical-image and weight formats from bytes (the `io` namespace of the public API): NIfTI-1 and
// Analyze 7.5 read and written, its affine and orientation, safetensors, PNG. Runtime-neutral;
// reading and writing files on disk is in the Node entry (src/node.ts).
export {
  readNifti, NIFTI_DATATYPES, MAX_VOXELS,
  type NiftiVolume, type NiftiHeader, type NiftiDatatype, type SpatialUnit, type TemporalUnit,
} from './nifti.js';
export { writeNifti, type NiftiWriteDatatype, type NiftiWriteOptions, type VolumeToWrite } from './nifti-write.js';
export {
  niftiAffine, sformAffine, qformAffine, fallbackAffine, spmOriginAffine, axisCodes, type Affine, type NiftiGeometry,
} from './affine.js';
export {
  parseSafetensors, parseSafetensorsHeader, serializeSafetensors, MAX_HEADER_BYTES, MAX_NESTING, MAX_TENSORS,
  type SafetensorsFile, type SafetensorsHeader, type SafetensorsTensor, type SafetensorsTensorInfo, type SafetensorsDtype,
  type TensorToWrite, type TensorsToWrite,
} from './safetensors.js';
export { decodePng, encodePng, type Image } from './png.js';
