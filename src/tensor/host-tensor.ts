/** A tensor on the host: f32 values in C (row-major) order, as files and checkpoints hold them. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
