// Whether the CPU-adapter kernels may use subgroup operations (matmul-subgroups.wgsl,
// attention-subgroups.wgsl, conv-subgroups.wgsl).

import type { Gpu } from '../gpu/gpu.js';

/**
 * True on a CPU adapter (or one forced to the CPU kernels) whose device has the 'subgroups'
 * feature with subgroups of at least 8 invocations: those kernels run a workgroup of 8 as one
 * subgroup and broadcast from lanes 0..7. Lavapipe's subgroups are 8 wide (one AVX2 vector).
 */
export function cpuSubgroups(gpu: Gpu): boolean {
  return gpu.info.cpu && gpu.device.features.has('subgroups') && (gpu.device.adapterInfo?.subgroupMinSize ?? 0) >= 8;
}
