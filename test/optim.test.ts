import { describe, expect, it } from 'vitest';
import { AdamW } from '../src/optim/adamw.js';
import { clipGradNorm } from '../src/optim/clip.js';
import { linearWarmupDecay } from '../src/optim/schedule.js';
import { Gpu } from '../src/gpu/gpu.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn, uniform } from './helpers/random.js';
import { type RefParam, adamwRef, clipRef } from './reference/optim.js';

// ---- tolerances ----

// Parameters: each step rounds p to f32 twice (decay, update), half an ulp = 6e-8·|p| each, so five
// steps stay under 6e-7·|p|; the Adam direction m/denom (relative error ~1e-6) times lr = 1e-2 adds 1e-8.
const PARAMS = { atol: 1e-7, rtol: 6e-7 };
// Moments: short f32 recurrences of O(1) gradients; m = lerp(m, g, 0.1) may cancel to |m| << |g|,
// so its error is a few ulps of g (6e-8 each) in absolute terms, not relative to m.
const MOMENTS = { atol: 1e-7, rtol: 1e-6 };
// A norm is a sum of squares in f32 trees: relative error ~log2(n)·6e-8.
const NORM = { atol: 0, rtol: 2e-6 };

// ---- setup ----

const SHAPES = [[37], [5, 13], [3, 1, 7]];  // two decayed, one not; none a multiple of 64 elements

function makeParams(gpu: Gpu, shapes: number[][], seed: number): Tensor[] {
  return shapes.map((s, i) => {
    const t = Tensor.fromArray(gpu, randn(s.reduce((a, b) => a * b, 1), seed + i), s);
    t.requiresGrad = true;
    return t;
  });
}

/** Fills the pool with garbage buffers of the arenas' sizes, so the arenas must zero what they get. */
function dirtyPool(gpu: Gpu, sizes: number[]): void {
  const junk = sizes.flatMap((n) => Array.from({ length: 6 }, () => Tensor.fromArray(gpu, new Float32Array(n).fill(7), [n])));
  for (const t of junk) t.dispose();
}

/** Elements of each group's arena: parameters start at multiples of 64 elements (256 bytes). */
function arenaLength(params: Tensor[]): number {
  const last = params[params.length - 1];
  return last.byteOffset / 4 + last.size;
}

describe('AdamW', () => {
  it('matches torch.optim.AdamW over 5 steps, 2 groups, lr changes and a missing gradient', async () => {
    const gpu = await testGpu();
    const params = makeParams(gpu, SHAPES, 100);
    const wds = [0.1, 0.1, 0];
    const ref: RefParam[] = await Promise.all(params.map(async (p, i) => ({
      p: Float64Array.from(await p.read()), m: new Float64Array(p.size), v: new Float64Array(p.size), wd: wds[i],
    })));
    dirtyPool(gpu, [129, 21]);
    const opt = new AdamW([{ params: params.slice(0, 2), weightDecay: 0.1 }, { params: [params[2]], weightDecay: 0 }], { lr: 1e-2 });

    for (let step = 1; step <= 5; step++) {
      const lr = 1e-2 * (1 - 0.1 * step);
      opt.setLearningRate(lr);
      params.forEach((p, i) => {
        // At step 3 the second parameter has no gradient: it counts as zeros.
        const g = step === 3 && i === 1 ? new Float32Array(p.size) : randn(p.size, 1000 * step + i);
        if (!(step === 3 && i === 1)) p.grad = Tensor.fromArray(gpu, g, p.shape);
        adamwRef(ref[i], g, step, lr);
      });
      expect(opt.step()).toBeNull();
      opt.zeroGrad();
      for (let i = 0; i < params.length; i++) {
        expectClose(await params[i].read(), ref[i].p, PARAMS, 'adamw', 'params');
      }
    }
    const state = await opt.state();
    expect(state.step).toBe(5);
    ref.forEach((r, i) => {
      expectClose(state.expAvg[i], r.m, MOMENTS, 'adamw', 'exp_avg');
      expectClose(state.expAvgSq[i], r.v, MOMENTS, 'adamw', 'exp_avg_sq');
    });

    // The gaps between parameters in an arena are still zero.
    const group = params.slice(0, 2);
    expect(group[0].buffer).toBe(group[1].buffer);
    expect(group[1].byteOffset).toBe(256);
    const arena = new Float32Array(await gpu.read(group[0].buffer, arenaLength(group) * 4));
    expect([...arena.subarray(37, 64)]).toEqual(new Array(27).fill(0));
    expect(arena.subarray(64, 129)).toEqual(await group[1].read());
    opt.dispose();
    for (const p of params) p.dispose();
  });

  for (const [name, maxNorm] of [['above', 1], ['below', 100]] as const) {
    it(`clips the global gradient norm inside the update (norm ${name} maxNorm)`, async () => {
      const gpu = await testGpu();
      const params = makeParams(gpu, SHAPES, 200);
      const wds = [0.05, 0.05, 0];
      const ref: RefParam[] = await Promise.all(params.map(async (p, i) => ({
        p: Float64Array.from(await p.read()), m: new Float64Array(p.size), v: new Float64Array(p.size), wd: wds[i],
      })));
      const opt = new AdamW([{ params: params.slice(0, 2) }, { params: [params[2]], weightDecay: 0 }], { lr: 1e-2 });
      for (let step = 1; step <= 3; step++) {
        const grads = params.map((p, i) => randn(p.size, 2000 * step + i, 3));
        params.forEach((p, i) => (p.grad = Tensor.fromArray(gpu, grads[i], p.shape)));
        const { norm, coef } = clipRef(grads, maxNorm);
        expect(coef < 1).toBe(name === 'above');
        grads.forEach((g, i) => adamwRef(ref[i], g.map((x) => Math.fround(x * Math.fround(coef))), step, 1e-2));
        const normT = opt.step({ clip: maxNorm })!;
        expectClose(await normT.read(), [norm], NORM, 'adamw', 'clip norm');
        normT.dispose();
        // The gradients themselves are not changed.
        expect(await params[0].grad!.read()).toEqual(grads[0]);
        opt.zeroGrad();
      }
      for (let i = 0; i < params.length; i++) expectClose(await params[i].read(), ref[i].p, PARAMS, 'adamw', 'params with clip');
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('resumes exactly from state() / loadState()', async () => {
    const gpu = await testGpu();
    const a = makeParams(gpu, SHAPES, 300);
    const optA = new AdamW([{ params: a.slice(0, 2) }, { params: [a[2]], weightDecay: 0 }], { lr: 1e-2 });
    const grads = (step: number) => a.map((p, i) => randn(p.size, 3000 * step + i));
    const stepWith = (opt: AdamW, params: Tensor[], step: number) => {
      grads(step).forEach((g, i) => (params[i].grad = Tensor.fromArray(gpu, g, params[i].shape)));
      opt.step();
      opt.zeroGrad();
    };
    for (let s = 1; s <= 3; s++) stepWith(optA, a, s);

    const b = await Promise.all(a.map(async (p) => Tensor.fromArray(gpu, await p.read(), p.shape)));
    const optB = new AdamW([{ params: b.slice(0, 2) }, { params: [b[2]], weightDecay: 0 }], { lr: 1e-2 });
    optB.loadState(await optA.state());
    expect(optB.stepCount).toBe(3);
    for (let s = 4; s <= 5; s++) {
      stepWith(optA, a, s);
      stepWith(optB, b, s);
    }
    for (let i = 0; i < a.length; i++) expect(await b[i].read()).toEqual(await a[i].read());
    for (const opt of [optA, optB]) opt.dispose();
    for (const p of [...a, ...b]) p.dispose();
  });

  it('keeps the live-buffer count constant across steps', async () => {
    const gpu = await testGpu();
    const params = makeParams(gpu, SHAPES, 400);
    const opt = new AdamW([{ params }]);
    params.forEach((p, i) => (p.grad = Tensor.fromArray(gpu, randn(p.size, 4000 + i), p.shape)));
    opt.step();
    opt.step({ clip: 1 })!.dispose();
    const live = gpu.memory().liveBuffers;
    for (let s = 0; s < 4; s++) {
      if (s % 2) opt.step();
      else opt.step({ clip: 1 })!.dispose();
      expect(gpu.memory().liveBuffers).toBe(live);
    }
    opt.zeroGrad();
    opt.dispose();
    for (const p of params) p.dispose();
  });

  it('updates an arena of more than 65535 workgroups (16.8M elements, with clipping)', async () => {
    const gpu = await testGpu();
    const n = 65536 * 256 + 77;
    const init = uniform(n, 500, -2, 2);
    const grad = uniform(n, 501);
    const p = Tensor.fromArray(gpu, init, [n]);
    const opt = new AdamW([{ params: [p] }], { lr: 1e-2 });
    p.grad = Tensor.fromArray(gpu, grad, [n]);
    const normT = opt.step({ clip: 100 })!;
    const { norm, coef } = clipRef([grad], 100);
    const ref = { p: Float64Array.from(init), m: new Float64Array(n), v: new Float64Array(n), wd: 0.05 };
    adamwRef(ref, grad.map((x) => Math.fround(x * Math.fround(coef))), 1, 1e-2);
    // 16.8M squares: a 4096-element tree per chunk, then ~4100 chunk sums in one more tree.
    expectClose(await normT.read(), [norm], NORM, 'adamw', 'clip norm 16.8M');
    expectClose(await p.read(), ref.p, PARAMS, 'adamw', 'params 16.8M');
    normT.dispose();
    opt.zeroGrad();
    opt.dispose();
    p.dispose();
  });

  it('splits a group over several arenas when it exceeds one storage binding, and matches the reference', async () => {
    // A context whose storage-binding limit reads as 1 KiB: its dispatch check then refuses any
    // binding over 1 KiB, so the arenas must be split. Parameters of 100, 37, 65, 21 and 256 floats
    // take three arenas (100 + 37, 65 + 21, 256); 257 floats fit in none.
    const gpu = await Gpu.create();
    Object.defineProperty(gpu, 'limits', { value: { ...gpu.limits, maxStorageBufferBindingSize: 1024 } });
    try {
      const params = makeParams(gpu, [[100], [37], [5, 13], [3, 7], [256]], 700);
      const ref: RefParam[] = await Promise.all(params.map(async (p) => ({
        p: Float64Array.from(await p.read()), m: new Float64Array(p.size), v: new Float64Array(p.size), wd: 0.05,
      })));
      const opt = new AdamW([{ params }], { lr: 1e-2 });
      expect(new Set(params.map((p) => p.buffer)).size).toBe(3);
      expect(params[1].buffer).toBe(params[0].buffer);
      expect(params[3].buffer).toBe(params[2].buffer);
      for (let step = 1; step <= 3; step++) {
        const grads = params.map((p, i) => randn(p.size, 7000 * step + i, 3));
        params.forEach((p, i) => (p.grad = Tensor.fromArray(gpu, grads[i], p.shape)));
        const { norm, coef } = clipRef(grads, 1);
        const normT = opt.step({ clip: 1 })!;
        expectClose(await normT.read(), [norm], NORM, 'adamw', 'clip norm over split arenas');
        normT.dispose();
        params.forEach((_, i) => adamwRef(ref[i], grads[i].map((g) => Math.fround(g * Math.fround(coef))), step, 1e-2));
        opt.zeroGrad();
      }
      for (let i = 0; i < params.length; i++) expectClose(await params[i].read(), ref[i].p, PARAMS, 'adamw', 'params over split arenas');
      const state = await opt.state();
      ref.forEach((r, i) => expectClose(state.expAvg[i], r.m, MOMENTS, 'adamw', 'exp_avg over split arenas'));
      opt.dispose();
      for (const p of params) p.dispose();

      const [big] = makeParams(gpu, [[257]], 800);
      expect(() => new AdamW([{ params: [big] }])).toThrow(
        /AdamW: parameter 0 of group 0 \[257\] has 1028 bytes, over this adapter's limits \(maxStorageBufferBindingSize 1024/,
      );
      big.dispose();
    } finally {
      gpu.destroy();
    }
  });

  it('validates its arguments', async () => {
    const gpu = await testGpu();
    const [p, q] = makeParams(gpu, [[3], [4]], 600);
    expect(() => new AdamW([{ params: [p] }, { params: [p] }])).toThrow(/AdamW: a parameter appears more than once/);
    expect(() => new AdamW([{ params: [] }])).toThrow(/AdamW: no parameters given/);
    expect(() => new AdamW([{ params: [p] }], { lr: -1 })).toThrow(/AdamW: lr must be in \[0, Infinity\), got -1/);
    expect(() => new AdamW([{ params: [p] }], { betas: [0.9, 1] })).toThrow(/AdamW: betas\[1\] must be in \[0, 1\), got 1/);
    const opt = new AdamW([{ params: [p, q], weightDecay: 0 }]);
    expect(() => opt.step({ clip: 0 })).toThrow(/AdamW.step: clip must be a finite number > 0, got 0/);
    expect(() => opt.loadState({ step: 1, expAvg: [new Float32Array(3)], expAvgSq: [new Float32Array(3)] })).toThrow(
      /AdamW.loadState: state has 1\/1 moment arrays for 2 parameters/,
    );
    expect(() =>
      opt.loadState({ step: 1, expAvg: [new Float32Array(3), new Float32Array(5)], expAvgSq: [new Float32Array(3), new Float32Array(4)] }),
    ).toThrow(/AdamW.loadState: parameter 1 \[4\] has 4 elements, state has 5\/4/);
    opt.dispose();
    for (const t of [p, q]) t.dispose();
  });
});

describe('clipGradNorm', () => {
  for (const [name, maxNorm] of [['above', 2], ['below', 100]] as const) {
    it(`scales the gradients in place when the norm is ${name} maxNorm`, async () => {
      const gpu = await testGpu();
      const params = makeParams(gpu, [[37], [4097], [1], [2, 3]], 700);
      // The third parameter has no gradient and is skipped; the 4097-long one spans two chunks.
      const grads = params.map((p, i) => (i === 2 ? null : randn(p.size, 800 + i)));
      params.forEach((p, i) => (p.grad = grads[i] && Tensor.fromArray(gpu, grads[i]!, p.shape)));
      const present = grads.filter((g): g is Float32Array => g !== null);
      const { norm, coef } = clipRef(present, maxNorm);
      expect(coef < 1).toBe(name === 'above');
      const normT = clipGradNorm(params, maxNorm);
      expectClose(await normT.read(), [norm], NORM, 'clipGradNorm', 'norm');
      for (const [i, p] of params.entries()) {
        if (!grads[i]) {
          expect(p.grad).toBeNull();
          continue;
        }
        // Each gradient times the f32 coefficient: one f32 rounding plus the norm's relative error.
        expectClose(await p.grad!.read(), grads[i]!.map((g) => g * coef), { atol: 0, rtol: 3e-6 }, 'clipGradNorm', 'clipped grads');
      }
      normT.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('returns 0 when no parameter has a gradient, and validates maxNorm', async () => {
    const gpu = await testGpu();
    const [p] = makeParams(gpu, [[5]], 900);
    const normT = clipGradNorm([p], 1);
    expect(await normT.item()).toBe(0);
    normT.dispose();
    expect(() => clipGradNorm([p], -1)).toThrow(/clipGradNorm: maxNorm must be a finite number > 0, got -1/);
    expect(() => clipGradNorm([], 1)).toThrow(/clipGradNorm: no parameters given/);
    p.dispose();
  });
});

describe('linearWarmupDecay', () => {
  it('rises linearly over the warm-up, then falls linearly to 0 at total', () => {
    const o = { total: 120, peak: 3e-5 };
    // transformers.get_linear_schedule_with_warmup(num_warmup_steps=20, num_training_steps=120).
    expect(linearWarmupDecay(0, o)).toBe(0);
    expect(linearWarmupDecay(1, o)).toBe(3e-5 * (1 / 20));
    expect(linearWarmupDecay(10, o)).toBe(3e-5 * 0.5);
    expect(linearWarmupDecay(20, o)).toBe(3e-5);
    expect(linearWarmupDecay(70, o)).toBe(3e-5 * 0.5);
    expect(linearWarmupDecay(119, o)).toBe(3e-5 * (1 / 100));
    expect(linearWarmupDecay(120, o)).toBe(0);
    expect(linearWarmupDecay(500, o)).toBe(0);
    expect(linearWarmupDecay(5, { warmup: 0, total: 10, peak: 1 })).toBe(0.5);
    expect(() => linearWarmupDecay(-1, o)).toThrow(/linearWarmupDecay: step must be an integer >= 0, got -1/);
    expect(() => linearWarmupDecay(1, { warmup: 30, total: 20, peak: 1 })).toThrow(/need integers 0 <= warmup <= total/);
  });
});
