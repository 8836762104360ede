// The convolution kernels for CPU adapters (lib/conv-cpu.wgsl), for devices with subgroups: the
// 16 values every lane of a workgroup shares are loaded two per lane and shuffled
// (lib/tile-column-subgroups.wgsl). A separate file because `enable subgroups` applies to a whole
// module. The entry points are conv.wgsl's `_cpu` ones.

enable subgroups;

#include "conv-bindings.wgsl"
#include "conv-cpu.wgsl"
#include "tile-column-subgroups.wgsl"
