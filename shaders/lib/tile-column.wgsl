// tileColumn for the CPU-adapter kernels without subgroups (see conv-cpu.wgsl): the values
// A[rows[i] + offset] for i < 16, the same in every lane, each lane loading all of them.
// `own` is ownRows' and unused here. Offsets wrap as u32 (rows[i] + offset is in range).

fn ownRows(rows: ptr<function, array<u32, 16>>, lane: u32) -> vec2u {
  return vec2u(0u);
}

fn tileColumn(rows: ptr<function, array<u32, 16>>, own: vec2u, offset: u32) -> array<f32, 16> {
  var r: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { r[i] = A[(*rows)[i] + offset]; }
  return r;
}
