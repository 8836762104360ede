// Relative-position bias (BEiT): expand a learned table [R, H] into per-head attention biases
// [H, N, N] through a fixed index, bias[h, p] = table[index[p], h] for p = i·N + j.
// The backward sums, for every table row r, the gradients of all positions that read it. Those
// positions are listed per row in a CSR layout (built once on the host), so each output is one
// invocation's sum: deterministic, no atomics. Indices are stored as exact small integers in f32.

struct Params { positions: u32, heads: u32, rows: u32 }

@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> table: array<f32>;       // [R, H]
@group(0) @binding(2) var<storage, read> index: array<f32>;       // [N·N]
@group(0) @binding(3) var<storage, read_write> bias: array<f32>;  // [H, N·N]

// One invocation per position: it reads the position's table row once and writes every head's
// bias from it (no index division, one index load per position instead of one per head).
@compute @workgroup_size(256)
fn expand(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let pos = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (pos >= p.positions) { return; }
  let row = u32(index[pos]) * p.heads;
  for (var h = 0u; h < p.heads; h++) { bias[h * p.positions + pos] = table[row + h]; }
}

@group(0) @binding(1) var<storage, read> dBias: array<f32>;        // [H, N·N]
@group(0) @binding(2) var<storage, read> rowStart: array<f32>;     // [R + 1]
@group(0) @binding(3) var<storage, read> rowPositions: array<f32>; // [N·N], grouped by row
@group(0) @binding(4) var<storage, read_write> dTable: array<f32>; // [R, H]

@compute @workgroup_size(256)
fn table_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * 256u + lid;  // e = r·H + h
  if (e >= p.rows * p.heads) { return; }
  let r = e / p.heads;
  let h = e % p.heads;
  var s = 0.0;
  for (var k = u32(rowStart[r]); k < u32(rowStart[r + 1u]); k++) {
    s += dBias[h * p.positions + u32(rowPositions[k])];
  }
  dTable[e] = s;
}
