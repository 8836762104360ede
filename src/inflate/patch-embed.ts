// 2D→3D transfer of a ViT patch-embedding kernel (TransSeg beit3d.py:load_checkpoint): the RGB
// kernel becomes a gray one spread over the new input channels, then gains a depth axis as long
// as the slice window, so the Conv3d with kernel (D, P, P) starts from the 2-D model.
// The patch-embedding bias is copied unchanged by the original and needs nothing here.
// Arithmetic is f32, step by step as PyTorch does it, so results match torch bit for bit.

export type InflationMethod = 'centering' | 'inflation';

export interface PatchEmbedInflation {
  /** Input channels C of the 3-D model (modalities). */
  channels: number;
  /** Slices D in the window; the depth of the new kernel. */
  depth: number;
  /** 'centering' (TransSeg's default) or 'inflation' (I3D-style averaging). */
  method: InflationMethod;
}

function checkCount(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
}

function checkKernel(op: string, w: Float32Array, shape: readonly number[]): void {
  if (shape.length !== 4 || !shape.every((s) => Number.isInteger(s) && s >= 1) || w.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new Error(`${op}: w must be a [E, C, P, P] kernel matching its shape, got shape [${shape.join(', ')}] with ${w.length} values`);
  }
}

/**
 * [E, Cin, P, P] → [E, C, P, P]: g = Σ over Cin (a SUM: RGB → gray), then g / C on each of the C
 * channels, so a gray image copied into all C channels gives the gray response.
 */
export function toGrayAndSpread(w: Float32Array, shape: readonly [number, number, number, number], channels: number): Float32Array {
  checkKernel('toGrayAndSpread', w, shape);
  checkCount('toGrayAndSpread', 'channels', channels);
  const [E, Cin, P1, P2] = shape;
  const plane = P1 * P2;
  // A Float32Array accumulator rounds after every add: torch's sequential f32 sum over Cin.
  const gray = new Float32Array(E * plane);
  for (let e = 0; e < E; e++) {
    for (let c = 0; c < Cin; c++) {
      for (let p = 0; p < plane; p++) gray[e * plane + p] += w[(e * Cin + c) * plane + p];
    }
  }
  const out = new Float32Array(E * channels * plane);
  for (let e = 0; e < E; e++) {
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < plane; p++) out[(e * channels + c) * plane + p] = gray[e * plane + p] / channels;
    }
  }
  return out;
}

/**
 * [E, C, P, P] → [E, C, D, P, P]. 'inflation': the kernel on every slice, divided by D, so a
 * volume of D equal slices gives the 2-D response. 'centering': the kernel on slice floor(D/2)
 * (for even D the later of the two middle slices), zeros elsewhere.
 */
export function inflateDepth(w: Float32Array, shape: readonly [number, number, number, number], depth: number, method: InflationMethod): Float32Array {
  checkKernel('inflateDepth', w, shape);
  checkCount('inflateDepth', 'depth', depth);
  if (method !== 'centering' && method !== 'inflation') {
    throw new Error(`inflateDepth: method must be 'centering' or 'inflation', got '${method}'`);
  }
  const [E, C, P1, P2] = shape;
  const plane = P1 * P2;
  const out = new Float32Array(E * C * depth * plane);
  const centre = Math.floor(depth / 2);
  for (let ec = 0; ec < E * C; ec++) {
    for (let d = 0; d < depth; d++) {
      if (method === 'centering' && d !== centre) continue;
      const dst = (ec * depth + d) * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = method === 'inflation' ? w[ec * plane + p] / depth : w[ec * plane + p];
    }
  }
  return out;
}

/** The whole transfer, [E, Cin, P, P] → [E, C, D, P, P]: `toGrayAndSpread` then `inflateDepth`. */
export function inflatePatchEmbed(w: Float32Array, shape: readonly [number, number, number, number], options: PatchEmbedInflation): Float32Array {
  const { channels, depth, method } = options;
  const gray = toGrayAndSpread(w, shape, channels);
  return inflateDepth(gray, [shape[0], channels, shape[2], shape[3]], depth, method);
}

/**
 * vit-pytorch's patch embedding is a Linear [E, P·P·C] over patches flattened in (p1, p2, c)
 * order ('b c (h p1) (w p2) -> b (h w) (p1 p2 c)'). Returns the equivalent Conv2d kernel
 * [E, C, P, P] (stride P), so the same inflation applies: W[e, c, p1, p2] = L[e, (p1·P + p2)·C + c].
 */
export function linearPatchToConv(w: Float32Array, patch: number, channels: number): Float32Array {
  checkCount('linearPatchToConv', 'patch', patch);
  checkCount('linearPatchToConv', 'channels', channels);
  const inFeatures = patch * patch * channels;
  if (w.length === 0 || w.length % inFeatures !== 0) {
    throw new Error(`linearPatchToConv: w must be [E, P·P·C = ${inFeatures}] for P ${patch}, C ${channels}, got ${w.length} values`);
  }
  const E = w.length / inFeatures;
  const out = new Float32Array(w.length);
  for (let e = 0; e < E; e++) {
    for (let c = 0; c < channels; c++) {
      for (let p1 = 0; p1 < patch; p1++) {
        for (let p2 = 0; p2 < patch; p2++) {
          out[((e * channels + c) * patch + p1) * patch + p2] = w[e * inFeatures + (p1 * patch + p2) * channels + c];
        }
      }
    }
  }
  return out;
}
