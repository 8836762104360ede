// CPU references of upsampleBilinear (src/ops/resample.ts, shaders/resample.wgsl):
// F.interpolate(mode='bilinear', align_corners=False) in plain loops over [planes, H, W].

/**
 * Along one axis: the two input indices output o reads and their weights. The source coordinate is
 * rounded to f32 step by step, as PyTorch computes it: at 4097 outputs its f32 rounding alone moves
 * the weights by ~2e-6, more than the rest of the arithmetic.
 */
function taps(o: number, inSize: number, outSize: number): [number, number, number, number] {
  const f = Math.fround;
  const scale = f(inSize / outSize);
  const src = Math.max(f(f(scale * (o + 0.5)) - 0.5), 0);
  const i0 = Math.min(Math.floor(src), inSize - 1);
  const l1 = Math.min(Math.max(src - i0, 0), 1);
  return [i0, Math.min(i0 + 1, inSize - 1), 1 - l1, l1];
}

export function bilinearRef(x: ArrayLike<number>, planes: number, H: number, W: number, OH: number, OW: number): Float64Array {
  const y = new Float64Array(planes * OH * OW);
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1, a0, a1] = taps(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1, b0, b1] = taps(ow, W, OW);
        const at = (h: number, w: number) => x[(pl * H + h) * W + w];
        y[(pl * OH + oh) * OW + ow] = a0 * (b0 * at(h0, w0) + b1 * at(h0, w1)) + a1 * (b0 * at(h1, w0) + b1 * at(h1, w1));
      }
    }
  }
  return y;
}

/** The transpose of bilinearRef: scatters each output gradient into the four inputs it read. */
export function bilinearGradRef(dy: ArrayLike<number>, planes: number, H: number, W: number, OH: number, OW: number): Float64Array {
  const dx = new Float64Array(planes * H * W);
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1, a0, a1] = taps(oh, H, OH);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1, b0, b1] = taps(ow, W, OW);
        const g = dy[(pl * OH + oh) * OW + ow];
        dx[(pl * H + h0) * W + w0] += a0 * b0 * g;
        dx[(pl * H + h0) * W + w1] += a0 * b1 * g;
        dx[(pl * H + h1) * W + w0] += a1 * b0 * g;
        dx[(pl * H + h1) * W + w1] += a1 * b1 * g;
      }
    }
  }
  return dx;
}
