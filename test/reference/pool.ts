// CPU references of maxPool2d and adaptiveAvgPool2d (src/ops/pool.ts, shaders/pool.wgsl): plain f64
// loops over [planes, H, W].

export function maxPoolRef(x: ArrayLike<number>, planes: number, H: number, W: number): Float64Array {
  const OH = Math.floor(H / 2), OW = Math.floor(W / 2);
  const y = new Float64Array(planes * OH * OW);
  for (let pl = 0; pl < planes; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const at = (dh: number, dw: number) => x[(pl * H + 2 * oh + dh) * W + 2 * ow + dw];
        y[(pl * OH + oh) * OW + ow] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
    }
  }
  return y;
}

const binStart = (i: number, size: number, bins: number) => Math.floor((i * size) / bins);

const binEnd = (i: number, size: number, bins: number) => Math.ceil(((i + 1) * size) / bins);

export function adaptiveAvgRef(x: ArrayLike<number>, planes: number, H: number, W: number, bins: number): Float64Array {
  const y = new Float64Array(planes * bins * bins);
  for (let pl = 0; pl < planes; pl++) {
    for (let i = 0; i < bins; i++) {
      for (let j = 0; j < bins; j++) {
        let sum = 0;
        const [h0, h1, w0, w1] = [binStart(i, H, bins), binEnd(i, H, bins), binStart(j, W, bins), binEnd(j, W, bins)];
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += x[(pl * H + h) * W + w];
        y[(pl * bins + i) * bins + j] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return y;
}

/** The transpose of adaptiveAvgRef: each bin's gradient spread evenly over the inputs it covers. */
export function adaptiveAvgGradRef(dy: ArrayLike<number>, planes: number, H: number, W: number, bins: number): Float64Array {
  const dx = new Float64Array(planes * H * W);
  for (let pl = 0; pl < planes; pl++) {
    for (let i = 0; i < bins; i++) {
      for (let j = 0; j < bins; j++) {
        const [h0, h1, w0, w1] = [binStart(i, H, bins), binEnd(i, H, bins), binStart(j, W, bins), binEnd(j, W, bins)];
        const g = dy[(pl * bins + i) * bins + j] / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) dx[(pl * H + h) * W + w] += g;
      }
    }
  }
  return dx;
}
