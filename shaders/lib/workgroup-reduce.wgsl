// Sum or maximum over a workgroup of 256 invocations: each passes its value and all get the result.
// Two levels of 16 (16 invocations each combine 16 values, then every invocation combines those 16)
// take three barriers where a binary tree takes nine. The order is fixed, so results are
// deterministic. Every invocation of the workgroup must call, from uniform control flow.

var<workgroup> reduceLevel1: array<f32, 256>;
var<workgroup> reduceLevel2: array<f32, 16>;

fn workgroupReduce(li: u32, v: f32, isMax: bool) -> f32 {
  reduceLevel1[li] = v;
  workgroupBarrier();
  if (li < 16u) {
    var r = reduceLevel1[li * 16u];
    for (var j = 1u; j < 16u; j++) {
      let next = reduceLevel1[li * 16u + j];
      r = select(r + next, max(r, next), isMax);
    }
    reduceLevel2[li] = r;
  }
  workgroupBarrier();
  var total = reduceLevel2[0];
  for (var j = 1u; j < 16u; j++) {
    let next = reduceLevel2[j];
    total = select(total + next, max(total, next), isMax);
  }
  workgroupBarrier();  // everyone has read reduceLevel2 before the next call overwrites it
  return total;
}

fn workgroupSum(li: u32, v: f32) -> f32 {
  return workgroupReduce(li, v, false);
}

fn workgroupMax(li: u32, v: f32) -> f32 {
  return workgroupReduce(li, v, true);
}

// The four lanes of v summed each as workgroupSum does (twelve barriers; for kernels that run
// once per step, such as the losses, simpler than a vec4 copy of the reduction).
fn workgroupSum4(li: u32, v: vec4f) -> vec4f {
  return vec4f(workgroupSum(li, v.x), workgroupSum(li, v.y), workgroupSum(li, v.z), workgroupSum(li, v.w));
}
