// The uniforms of both matmul files (matmul.wgsl, matmul-subgroups.wgsl), as src/ops/matmul.ts packs them.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,  // elements between batches of A
  strideB: u32,  // 0 when B is shared
  batch0: u32,   // first batch of this dispatch (grids over 65535 batches are split in chunks)
  tileRows: u32, // matmul-subgroups: 32, as a run-time value, so its store loop stays a loop
}

@group(0) @binding(0) var<uniform> p: Params;
