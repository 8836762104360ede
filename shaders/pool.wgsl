// Pooling over the two spatial axes of NCHW images, viewed as [B·C, H, W] planes:
// max pooling with a 2×2 window and stride 2, and adaptive average pooling to OH×OW bins.
// Backward kernels run one invocation per input element and gather from the outputs that read
// it, so no two invocations write the same element (deterministic, no atomics).

struct Params {
  H: u32,      // input height
  W: u32,      // input width
  OH: u32,     // output height
  OW: u32,     // output width
  total: u32,  // invocations needed: output elements (forward) or input elements (backward)
}

@group(0) @binding(0) var<uniform> p: Params;

// Forward: x [B·C, H, W] -> y [B·C, OH, OW].
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Backward: max pooling also reads x (binding 1) to find each window's argmax again.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Adaptive pooling's backward needs no x: its own bindings.
@group(0) @binding(1) var<storage, read> dyAvg: array<f32>;
@group(0) @binding(2) var<storage, read_write> dxAvg: array<f32>;

#include "grid.wgsl"

fn linearIndex(wid: vec3u, nwg: vec3u, li: u32) -> u32 {
  return linearWorkgroup(wid, nwg) * 256u + li;
}

// Position (0..3, row-major) of the first maximum in the 2×2 window at output (oh, ow) of a plane,
// as PyTorch: a later element wins only when strictly greater.
fn argmax2x2(plane: u32, oh: u32, ow: u32) -> u32 {
  let top = plane + 2u * oh * p.W + 2u * ow;
  let v = array<f32, 4>(x[top], x[top + 1u], x[top + p.W], x[top + p.W + 1u]);
  var best = 0u;
  for (var k = 1u; k < 4u; k++) {
    if (v[k] > v[best]) { best = k; }
  }
  return best;
}

@compute @workgroup_size(256)
fn max_pool(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) li: u32) {
  let idx = linearIndex(wid, nwg, li);
  if (idx >= p.total) { return; }
  let ow = idx % p.OW;
  let oh = (idx / p.OW) % p.OH;
  let plane = (idx / (p.OW * p.OH)) * p.H * p.W;
  let k = argmax2x2(plane, oh, ow);
  y[idx] = x[plane + (2u * oh + k / 2u) * p.W + 2u * ow + k % 2u];
}

@compute @workgroup_size(256)
fn max_pool_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let idx = linearIndex(wid, nwg, li);
  if (idx >= p.total) { return; }
  let iw = idx % p.W;
  let ih = (idx / p.W) % p.H;
  let bc = idx / (p.W * p.H);
  let oh = ih / 2u;
  let ow = iw / 2u;
  // The last row or column of an odd-sized input is in no window (PyTorch floors the output size).
  var g = 0.0;
  if (oh < p.OH && ow < p.OW && argmax2x2(bc * p.H * p.W, oh, ow) == (ih % 2u) * 2u + iw % 2u) {
    g = dy[(bc * p.OH + oh) * p.OW + ow];
  }
  dx[idx] = g;
}

// PyTorch's adaptive bins along an axis of `size` split into `bins`: bin i covers
// [floor(i·size/bins), ceil((i+1)·size/bins)); neighbouring bins overlap when bins ∤ size.
fn binStart(i: u32, size: u32, bins: u32) -> u32 {
  return (i * size) / bins;
}

fn binEnd(i: u32, size: u32, bins: u32) -> u32 {
  return ((i + 1u) * size + bins - 1u) / bins;
}

@compute @workgroup_size(256)
fn adaptive_avg_pool(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let idx = linearIndex(wid, nwg, li);
  if (idx >= p.total) { return; }
  let ow = idx % p.OW;
  let oh = (idx / p.OW) % p.OH;
  let plane = (idx / (p.OW * p.OH)) * p.H * p.W;
  let h0 = binStart(oh, p.H, p.OH);
  let h1 = binEnd(oh, p.H, p.OH);
  let w0 = binStart(ow, p.W, p.OW);
  let w1 = binEnd(ow, p.W, p.OW);
  var sum = 0.0;
  for (var h = h0; h < h1; h++) {
    for (var w = w0; w < w1; w++) { sum += x[plane + h * p.W + w]; }
  }
  y[idx] = sum / f32((h1 - h0) * (w1 - w0));
}

// The bins that contain input index i are those from floor(i·bins/size) to
// floor(((i+1)·bins − 1)/size): the inverse of binStart ≤ i < binEnd, in integers.
fn firstBin(i: u32, size: u32, bins: u32) -> u32 {
  return (i * bins) / size;
}

fn lastBin(i: u32, size: u32, bins: u32) -> u32 {
  return ((i + 1u) * bins - 1u) / size;
}

@compute @workgroup_size(256)
fn adaptive_avg_pool_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) li: u32) {
  let idx = linearIndex(wid, nwg, li);
  if (idx >= p.total) { return; }
  let iw = idx % p.W;
  let ih = (idx / p.W) % p.H;
  let plane = (idx / (p.W * p.H)) * p.OH * p.OW;
  var sum = 0.0;
  for (var oh = firstBin(ih, p.H, p.OH); oh <= lastBin(ih, p.H, p.OH); oh++) {
    let rows = binEnd(oh, p.H, p.OH) - binStart(oh, p.H, p.OH);
    for (var ow = firstBin(iw, p.W, p.OW); ow <= lastBin(iw, p.W, p.OW); ow++) {
      let cols = binEnd(ow, p.W, p.OW) - binStart(ow, p.W, p.OW);
      sum += dyAvg[plane + oh * p.OW + ow] / f32(rows * cols);
    }
  }
  dxAvg[idx] = sum;
}
