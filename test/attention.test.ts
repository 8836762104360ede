import { describe, expect, it } from 'vitest';
import { attention } from '../src/ops/attention.js';
import { backward, clearTape, noGrad } from '../src/autograd/tape.js';
import { Tensor, numel } from '../src/tensor/tensor.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpuVariant } from './helpers/gpu.js';
import { randn, rng } from './helpers/random.js';
import { entriesUsed, subgroupGpu } from './helpers/subgroups.js';
import { attentionGradRef, attentionRef, type AttentionShape } from './reference/attention.js';

// Each output is a softmax-weighted mean of v. Its f32 error comes from the logits (Dh-term dot
// products: ~scale·sqrt(Dh)·2⁻²⁴·|q||k|) times |v − out|: measured <= 2.4e-6 at Dh = 64, scale 0.3.
const FORWARD = { atol: 5e-6, rtol: 1e-5 };
// Gradients sum T products of recomputed probabilities: measured <= 4e-6 (dBias, Dh = 128) at unit-scale
// inputs; the f64 central difference is exact to ~1e-9.
const GRAD = { atol: 1e-5, rtol: 1e-4 };

function inputShapes({ B, H, T, Dh }: AttentionShape, withBias: boolean): { shape: number[] }[] {
  const qkv = { shape: [B, H, T, Dh] };
  return withBias ? [qkv, qkv, qkv, { shape: [H, T, T] }] : [qkv, qkv, qkv];
}

/** Seeded standard-normal q, k, v (and bias) on the host and as GPU tensors. */
function makeInputs(gpu: Gpu, shape: AttentionShape, withBias: boolean, seed: number, requiresGrad: (input: number) => boolean) {
  const shapes = inputShapes(shape, withBias).map((s) => s.shape);
  const host = shapes.map((s, i) => randn(numel(s), seed * 101 + i));
  const tensors = host.map((x, i) => {
    const t = Tensor.fromArray(gpu, x, shapes[i]);
    t.requiresGrad = requiresGrad(i);
    return t;
  });
  return { xs: host.map((x) => Float64Array.from(x)), tensors };
}

/** Runs attention on the tensors and backward from a seeded random output gradient, which it returns. */
async function forwardBackward(tensors: Tensor[], scale: number, expected: Float64Array, check: string, seed: number): Promise<Float32Array> {
  const out = attention(tensors[0], tensors[1], tensors[2], { scale, bias: tensors[3] });
  expectClose(await out.read(), expected, FORWARD, 'attention', check);
  const g = randn(out.size, seed);
  const gOut = Tensor.fromArray(out.gpu, g, out.shape);
  backward(out, gOut);
  gOut.dispose();
  out.dispose();
  return g;
}

/**
 * gradCheck with the finite differences taken at `samples` random elements of each input rather
 * than all of them: for shapes where the O(T²·Dh) reference times 2·(inputs) calls is too slow.
 */
async function sampledGradCheck(
  gpu: Gpu, shape: AttentionShape, scale: number, withBias: boolean, samples: number, seed: number,
): Promise<void> {
  const { xs, tensors } = makeInputs(gpu, shape, withBias, seed, () => true);
  const reference = (inputs: Float64Array[]) => attentionRef(inputs, shape, scale, withBias ? inputs[3] : undefined);
  try {
    const g = await forwardBackward(tensors, scale, reference(xs), 'forward', seed * 7919);
    const objective = () => reference(xs).reduce((acc, y, i) => acc + y * g[i], 0);
    const pick = rng(seed);
    for (let n = 0; n < tensors.length; n++) {
      const grad = await tensors[n].grad!.read();
      const picked: number[] = [];
      const fd: number[] = [];
      for (let s = 0; s < samples; s++) {
        const j = Math.floor(pick() * grad.length);
        const x0 = xs[n][j];
        const h = 1e-5 * Math.max(1, Math.abs(x0));
        xs[n][j] = x0 + h;
        const up = objective();
        xs[n][j] = x0 - h;
        const down = objective();
        xs[n][j] = x0;
        picked.push(grad[j]);
        fd.push((up - down) / (2 * h));
      }
      expectClose(picked, fd, GRAD, 'attention', `grad input ${n} (sampled)`);
    }
  } finally {
    clearTape();
    for (const t of tensors) t.dispose();
  }
}

/**
 * Forward and gradients on the GPU against attentionRef and attentionGradRef, every element. A
 * 'fixed' bias (a mask, say) does not require a gradient and must not get one.
 */
async function analyticCheck(gpu: Gpu, shape: AttentionShape, scale: number, biasKind: 'none' | 'learned' | 'fixed'): Promise<void> {
  const withBias = biasKind !== 'none';
  const { xs, tensors } = makeInputs(gpu, shape, withBias, 31, (i) => i < 3 || biasKind === 'learned');
  const bias = withBias ? xs[3] : undefined;
  const label = `B${shape.B} H${shape.H} T${shape.T} Dh${shape.Dh}${withBias ? ' bias' : ''}`;
  try {
    const g = await forwardBackward(tensors, scale, attentionRef(xs, shape, scale, bias), `forward ${label}`, 77);
    const ref = attentionGradRef(xs, g, shape, scale, bias);
    const names = ['dq', 'dk', 'dv'] as const;
    for (let n = 0; n < 3; n++) {
      expectClose(await tensors[n].grad!.read(), ref[names[n]], GRAD, 'attention', `${names[n]} ${label}`);
    }
    if (biasKind === 'learned') expectClose(await tensors[3].grad!.read(), ref.dBias, GRAD, 'attention', `dBias ${label}`);
    if (biasKind === 'fixed') expect(tensors[3].grad).toBeNull();
  } finally {
    clearTape();
    for (const t of tensors) t.dispose();
  }
}

/**
 * The two kernel families: attention.wgsl (workgroup-memory tiles; GPUs, and CPU adapters without
 * subgroups) and attention-subgroups.wgsl (CPU adapters with subgroups, head dimensions that are
 * multiples of 4). `gpu` is null where the adapter has no subgroups. The subgroup family runs only
 * the shapes it takes; the others would fall back to attention.wgsl, tested already.
 */
const VARIANTS: { name: string; gpu: () => Promise<Gpu | null>; takes: (Dh: number) => boolean; entrySuffix: string }[] = [
  { name: 'row kernels', gpu: () => testGpuVariant(false), takes: () => true, entrySuffix: '' },
  { name: 'subgroup kernels', gpu: subgroupGpu, takes: (Dh) => Dh % 4 === 0, entrySuffix: '_subgroups' },
];

for (const variant of VARIANTS) describe(`attention, ${variant.name}`, () => {
  /** The variant's context, or a skipped test where the adapter has none. */
  const gpuOrSkip = async (skip: (note?: string) => never): Promise<Gpu> => (await variant.gpu()) ?? skip('this adapter has no subgroups');
  const test = (name: string, Dh: number, fn: (gpu: Gpu) => Promise<void>) => {
    if (variant.takes(Dh)) it(name, async ({ skip }) => fn(await gpuOrSkip(skip)));
  };

  const shapes: [string, AttentionShape][] = [
    ['size-1 dims', { B: 1, H: 1, T: 1, Dh: 1 }],
    ['vit-pytorch heads', { B: 2, H: 3, T: 17, Dh: 8 }],
    ['odd dims', { B: 2, H: 1, T: 33, Dh: 5 }],
    ['vec4 rows, one partial block', { B: 1, H: 2, T: 5, Dh: 4 }],
  ];
  for (const [name, shape] of shapes) {
    for (const withBias of [false, true]) {
      // timm's Dh^-0.5, and vit-pytorch's dim^-0.5 with its MNIST model's dim = 64.
      for (const scale of [shape.Dh ** -0.5, 64 ** -0.5]) {
        const { B, H, T, Dh } = shape;
        test(`forward and backward: ${name} (${B}×${H}×${T}×${Dh}), scale ${scale.toFixed(3)}${withBias ? ', bias' : ''}`, Dh, async (gpu) => {
          await gradCheck({
            gpu,
            kernel: 'attention',
            inputs: inputShapes(shape, withBias),
            gpuForward: ([q, k, v, bias]) => attention(q, k, v, { scale, bias }),
            cpuForward: (xs) => attentionRef(xs, shape, scale, withBias ? xs[3] : undefined),
            forwardTol: FORWARD,
            gradTol: GRAD,
          });
        });
      }
    }
  }

  // T = 70 spans two 64-row blocks (five 16-row blocks) and, at Dh = 64, five 16-key tiles.
  for (const withBias of [false, true]) {
    for (const scale of [64 ** -0.5, 0.3]) {
      test(`forward and sampled backward: 1×2×70×64, scale ${scale.toFixed(3)}${withBias ? ', bias' : ''}`, 64, async (gpu) => {
        await sampledGradCheck(gpu, { B: 1, H: 2, T: 70, Dh: 64 }, scale, withBias, 24, 3);
      });
    }
  }

  test('matches the analytic gradients at ViT-B/16 size (2×3×197×64, bias)', 64, async (gpu) => {
    await analyticCheck(gpu, { B: 2, H: 3, T: 197, Dh: 64 }, 64 ** -0.5, 'learned');
  });
  test('matches the analytic gradients at the largest head dimension (1×2×40×128, bias)', 128, async (gpu) => {
    await analyticCheck(gpu, { B: 1, H: 2, T: 40, Dh: 128 }, 128 ** -0.5, 'learned');
  });
  test('matches the analytic gradients on 1025 tokens (1×1×1025×8, bias)', 8, async (gpu) => {
    await analyticCheck(gpu, { B: 1, H: 1, T: 1025, Dh: 8 }, 8 ** -0.5, 'learned');
  });
  test('skips the gradient of a bias that needs none (1×3×50×16, fixed bias)', 16, async (gpu) => {
    await analyticCheck(gpu, { B: 1, H: 3, T: 50, Dh: 16 }, 0.25, 'fixed');
  });
  test('runs more than 65535 (b, h) slices (the grid is split)', 4, async (gpu) => {
    await analyticCheck(gpu, { B: 33000, H: 2, T: 3, Dh: 4 }, 0.7, 'none');
  });

  test('is deterministic: two backward passes give identical bits', 8, async (gpu) => {
    const shape = { B: 2, H: 3, T: 17, Dh: 8 };
    const run = async () => {
      const { xs, tensors } = makeInputs(gpu, shape, true, 5, () => true);
      await forwardBackward(tensors, 0.5, attentionRef(xs, shape, 0.5, xs[3]), 'forward', 9);
      const grads = await Promise.all(tensors.map((t) => t.grad!.read()));
      tensors.forEach((t) => t.dispose());
      return grads;
    };
    const [first, second] = [await run(), await run()];
    first.forEach((g, i) => expect(Array.from(second[i])).toEqual(Array.from(g)));
  });

  test('leaves no live buffers behind, with and without recording', 4, async (gpu) => {
    const shape = { B: 1, H: 2, T: 9, Dh: 4 };
    const before = gpu.memory().liveBuffers;
    const { xs, tensors: ts } = makeInputs(gpu, shape, true, 1, () => false);
    noGrad(() => attention(ts[0], ts[1], ts[2], { scale: 0.5, bias: ts[3] })).dispose();
    ts.forEach((t) => (t.requiresGrad = true));
    await forwardBackward(ts, 0.5, attentionRef(xs, shape, 0.5, xs[3]), 'forward', 1);
    ts.forEach((t) => t.dispose());
    await gpu.sync();
    expect(gpu.memory().liveBuffers).toBe(before);
  });

  test('launches the kernels of its family', 8, async (gpu) => {
    const entries = await entriesUsed(gpu, async () => {
      await analyticCheck(gpu, { B: 1, H: 1, T: 9, Dh: 8 }, 0.5, 'learned');
    });
    for (const name of ['attention_forward', 'attention_grad_q', 'attention_grad_kv']) expect(entries).toContain(name + variant.entrySuffix);
  });

  test('rejects mismatched shapes, a head dimension over 128 and a misshapen bias', 4, async (gpu) => {
    const made: Tensor[] = [];
    const t = (...shape: number[]) => made[made.push(Tensor.empty(gpu, shape)) - 1];
    const q = t(1, 2, 5, 4);
    expect(() => attention(q, t(1, 2, 6, 4), q, { scale: 1 })).toThrow(/attention: q, k and v must have the same shape/);
    expect(() => attention(t(2, 5, 4), t(2, 5, 4), t(2, 5, 4), { scale: 1 })).toThrow(/attention: q must be \[B, H, T, Dh\]/);
    const wide = t(1, 1, 2, 129);
    expect(() => attention(wide, wide, wide, { scale: 1 })).toThrow(/attention: head dimension 129 exceeds 128/);
    expect(() => attention(q, q, q, { scale: 1, bias: t(2, 5, 4) })).toThrow(/attention: bias must be \[H, T, T\] = \[2, 5, 5\]/);
    expect(() => attention(q, q, q, { scale: NaN })).toThrow(/attention: scale must be a finite number/);
    made.forEach((x) => x.dispose());
  });
});
