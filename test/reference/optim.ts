// CPU references of the optimiser (src/optim/adamw.ts, src/optim/clip.ts; shaders/optim.wgsl):
// plain f64 loops.

export interface RefParam { p: Float64Array; m: Float64Array; v: Float64Array; wd: number }

// torch.optim.AdamW's defaults, which the tests use.
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** One torch.optim.AdamW step (decoupled weight decay, bias correction), in f64. */
export function adamwRef(x: RefParam, g: ArrayLike<number>, step: number, lr: number): void {
  const stepSize = lr / (1 - BETA1 ** step);
  const bc2Sqrt = Math.sqrt(1 - BETA2 ** step);
  for (let i = 0; i < x.p.length; i++) {
    x.p[i] *= 1 - lr * x.wd;
    x.m[i] += (1 - BETA1) * (g[i] - x.m[i]);
    x.v[i] = BETA2 * x.v[i] + (1 - BETA2) * g[i] * g[i];
    x.p[i] -= (stepSize * x.m[i]) / (Math.sqrt(x.v[i]) / bc2Sqrt + EPS);
  }
}

/** clip_grad_norm_: the global norm and the coefficient applied to every gradient. */
export function clipRef(grads: ArrayLike<number>[], maxNorm: number): { norm: number; coef: number } {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  return { norm, coef: Math.min(maxNorm / (norm + 1e-6), 1) };
}
