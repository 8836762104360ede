// The linear index of a workgroup in a 1-D grid that the host may have split over (x, y) because it
// exceeds 65535 workgroups (see `splitGrid` in src/gpu/gpu.ts). Kernels bounds-check what they derive
// from it: the split grid can have a few workgroups more than asked for.
fn linearWorkgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}
