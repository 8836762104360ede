// tileColumn with subgroups (see conv-cpu.wgsl): the values A[rows[i] + offset] for i < 16, the
// same in every lane of the workgroup (one subgroup of 8). Lane l loads rows 2l and 2l + 1 (their
// starts, from ownRows, are computed once per kernel) and subgroupShuffle hands them to the others:
// a register permute instead of a gather from memory. Offsets wrap as u32 (rows[i] + offset is in range).

fn ownRows(rows: ptr<function, array<u32, 16>>, lane: u32) -> vec2u {
  return vec2u((*rows)[2u * lane], (*rows)[2u * lane + 1u]);
}

fn tileColumn(rows: ptr<function, array<u32, 16>>, own: vec2u, offset: u32) -> array<f32, 16> {
  let even = A[own.x + offset];
  let odd = A[own.y + offset];
  var r: array<f32, 16>;
  for (var l = 0u; l < 8u; l++) {
    r[2u * l] = subgroupShuffle(even, l);
    r[2u * l + 1u] = subgroupShuffle(odd, l);
  }
  return r;
}
