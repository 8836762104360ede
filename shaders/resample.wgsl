// Bilinear resampling of NCHW images, as F.interpolate(mode='bilinear', align_corners=False).
// Along each axis an output index o reads two neighbouring input indices i0, i1 with weights
// l0, l1 (see `taps`); the 2-D result is the product of the two axes' weights.
// The backward is the transpose of that map. Instead of scattering each output gradient into
// four inputs (which would need float atomics), every input pixel gathers from the few output
// pixels that read it, so the sums are deterministic.

struct Params {
  H: u32,        // input height
  W: u32,        // input width
  OH: u32,       // output height
  OW: u32,       // output width
  total: u32,    // invocations needed: output elements (forward) or input elements (backward);
                 // output rows in upsample_bilinear_cpu, input rows in upsample_bilinear_grad_cpu
  scaleH: f32,   // H / OH rounded to f32, as PyTorch computes it
  scaleW: f32,   // W / OW
}

@group(0) @binding(0) var<uniform> p: Params;

#include "grid.wgsl"

// Forward: x [B·C, H, W] -> y [B·C, OH, OW].
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Backward: dy [B·C, OH, OW] -> dx [B·C, H, W].
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

struct Taps {
  i0: u32,
  i1: u32,
  l0: f32,
  l1: f32,
}

// PyTorch's source coordinate for output index o: scale·(o + 0.5) − 0.5, clamped below at 0; the
// lower index is clamped to the last input and the upper one repeats it at the edge.
fn taps(o: u32, scale: f32, size: u32) -> Taps {
  let src = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
  let i0 = min(u32(src), size - 1u);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  return Taps(i0, min(i0 + 1u, size - 1u), 1.0 - l1, l1);
}

// The weight with which output index o reads input index i along one axis (0 when it does not).
fn weight(t: Taps, i: u32) -> f32 {
  return select(0.0, t.l0, t.i0 == i) + select(0.0, t.l1, t.i1 == i);
}

// Output pixel (·, tw) of the row th of the plane starting at `base` in x.
fn bilinear(base: u32, th: Taps, tw: Taps) -> f32 {
  let r0 = base + th.i0 * p.W;
  let r1 = base + th.i1 * p.W;
  return th.l0 * (tw.l0 * x[r0 + tw.i0] + tw.l1 * x[r0 + tw.i1]) +
         th.l1 * (tw.l0 * x[r1 + tw.i0] + tw.l1 * x[r1 + tw.i1]);
}

@compute @workgroup_size(256)
fn upsample_bilinear(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let idx = linearWorkgroup(wid, nwg) * 256u + li;
  if (idx >= p.total) { return; }
  let ow = idx % p.OW;
  let oh = (idx / p.OW) % p.OH;
  let base = (idx / (p.OW * p.OH)) * p.H * p.W;
  y[idx] = bilinear(base, taps(oh, p.scaleH, p.H), taps(ow, p.scaleW, p.W));
}

// The outputs that read input index i lie between these bounds: those whose source coordinate is
// in [i − 1, i + 1). Inverting the coordinate map in f32 can be off by a little, so the range is
// widened by one on each side; `weight` is exactly 0 for the extra candidates.
fn firstReader(i: u32, scale: f32) -> u32 {
  return u32(max(floor((f32(i) - 0.5) / scale - 0.5) - 1.0, 0.0));
}

fn lastReader(i: u32, scale: f32, outSize: u32) -> u32 {
  return min(u32(max(ceil((f32(i) + 1.5) / scale - 0.5) + 1.0, 0.0)), outSize - 1u);
}

@compute @workgroup_size(256)
fn upsample_bilinear_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) li: u32) {
  let idx = linearWorkgroup(wid, nwg) * 256u + li;
  if (idx >= p.total) { return; }
  let iw = idx % p.W;
  let ih = (idx / p.W) % p.H;
  let base = (idx / (p.W * p.H)) * p.OH * p.OW;
  let ow0 = firstReader(iw, p.scaleW);
  let ow1 = lastReader(iw, p.scaleW, p.OW);
  var sum = 0.0;
  for (var oh = firstReader(ih, p.scaleH); oh <= lastReader(ih, p.scaleH, p.OH); oh++) {
    let wh = weight(taps(oh, p.scaleH, p.H), ih);
    if (wh == 0.0) { continue; }
    var row = 0.0;
    for (var ow = ow0; ow <= ow1; ow++) {
      row += weight(taps(ow, p.scaleW, p.W), iw) * dy[base + oh * p.OW + ow];
    }
    sum += wh * row;
  }
  dx[idx] = sum;
}

// ---- Twins for CPU adapters (lavapipe, SwiftShader), where integer division runs lane by lane and
// every load is a gather. Invocation li of linear workgroup w takes row 8w + li.
//
// The forward's: an invocation computes a whole output row, so the plane and row are worked out
// once per row, not per pixel.
@compute @workgroup_size(8)
fn upsample_bilinear_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) li: u32) {
  let r = linearWorkgroup(wid, nwg) * 8u + li;
  if (r >= p.total) { return; }
  let base = (r / p.OH) * p.H * p.W;
  let th = taps(r % p.OH, p.scaleH, p.H);
  for (var ow = 0u; ow < p.OW; ow++) { y[r * p.OW + ow] = bilinear(base, th, taps(ow, p.scaleW, p.W)); }
}

// The backward's: an invocation computes a whole input row ih of dx and loads each dy element of
// the output rows that read ih once, instead of once per input pixel that gathers it (about a
// third of the loads at 2×, a sixth at 4×). It walks the output columns in order; column ow first
// sums its readers of ih, v = Σ_oh wh(oh)·dy[oh, ow], then hands v to the two inputs it reads,
// i0 with weight l0 and i1 = i0 or i0 + 1 with l1. As i0 never decreases, input column `cur` has
// all its terms once ow's i0 has passed it and is written then; `next` holds column cur + 1's.
@compute @workgroup_size(8)
fn upsample_bilinear_grad_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                              @builtin(local_invocation_index) li: u32) {
  let r = linearWorkgroup(wid, nwg) * 8u + li;
  if (r >= p.total) { return; }
  let ih = r % p.H;
  let base = (r / p.H) * p.OH * p.OW;
  let oh0 = firstReader(ih, p.scaleH);
  let oh1 = lastReader(ih, p.scaleH, p.OH);
  let row = r * p.W;
  var cur = 0u;
  var sum = 0.0;
  var next = 0.0;
  for (var ow = 0u; ow < p.OW; ow++) {
    let tw = taps(ow, p.scaleW, p.W);
    for (; cur < tw.i0; cur++) {
      dx[row + cur] = sum;
      sum = next;
      next = 0.0;
    }
    var v = 0.0;
    for (var oh = oh0; oh <= oh1; oh++) {
      let wh = weight(taps(oh, p.scaleH, p.H), ih);
      if (wh != 0.0) { v += wh * dy[base + oh * p.OW + ow]; }
    }
    sum += tw.l0 * v;
    if (tw.i1 == cur) { sum += tw.l1 * v; } else { next += tw.l1 * v; }
  }
  for (; cur < p.W; cur++) {
    dx[row + cur] = sum;
    sum = next;
    next = 0.0;
  }
}
