// The catalogue of benchmark cases and `--cases` selection. Shapes follow the paper's settings:
// 240²×5 windows in batches of 4 (a 15×15 grid, T = 225 patch tokens) and 512²×5 in batches of 2
// (32×32, T = 1024), with ViT-Tiny/16 (E 192, 3 heads), ViT-Small (E 384) and ViT-B/16 (E 768, 12
// heads) widths. Cases marked `slowOnCpu` take minutes to hours on a CPU adapter (lavapipe): there
// the default run leaves them out, and they run when `--cases` names them.
//
// FLOP conventions: a product [M, K]·[K, N] is 2·M·K·N; attention forward is 4·B·H·T²·d (q·kᵀ and
// p·v) and its FlashAttention-2 backward 2.5× that (five products: q·kᵀ again, then dv, dp, dq
// and dk); a convolution is 2·B·O·OH·OW·C·kh·kw forward and the same again for each of dx
// and dW. LayerNorm and softmax are memory-bound and get no FLOP count.

export type ModelName = 'vit-tiny' | 'beit-tiny' | 'vit-base';
export type Pass = 'fwd' | 'fwd+bwd';

type CaseKind =
  | { kind: 'matmul'; m: number; k: number; n: number }
  | { kind: 'attention'; batch: number; heads: number; tokens: number; headDim: number; bias: boolean; pass: Pass }
  /** Conv2d with stride 1 and padding (k − 1)/2, or the patch embedding (kernel = stride = patch). */
  | { kind: 'conv'; op: 'conv2d' | 'patch-embed'; batch: number; inChannels: number; outChannels: number; size: number; kernel: number; slices: number; pass: Pass }
  | { kind: 'layernorm'; rows: number; features: number; pass: Pass }
  | { kind: 'softmax'; rows: number; length: number; pass: Pass }
  /** forward: eval mode without gradients; train: a full step; memory: one step counted, not run. */
  | { kind: 'model'; model: ModelName; image: number; batch: number; mode: 'forward' | 'train' | 'memory' };

export type BenchCase = CaseKind & {
  name: string;
  /** Human-readable operand shapes. */
  shape: string;
  flops: number | null;
  slowOnCpu: boolean;
};

/** The paper's two settings: image size, batch, patch tokens. */
const SETTINGS = [
  { image: 240, batch: 4, tokens: 225 },
  { image: 512, batch: 2, tokens: 1024 },
] as const;

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const PASSES = ['fwd', 'fwd+bwd'] as const;

function matmulCase(name: string, m: number, k: number, n: number): BenchCase {
  return { kind: 'matmul', m, k, n, name, shape: `${fmt([m, k])}·${fmt([k, n])}`, flops: 2 * m * k * n, slowOnCpu: false };
}

function matmulCases(): BenchCase[] {
  const square = [256, 512, 1024, 2048].map((n) => matmulCase(`matmul:${n}`, n, n, n));
  const vit = [192, 384, 768].flatMap((E) =>
    SETTINGS.flatMap(({ batch, tokens }) => [
      matmulCase(`matmul:vit:e${E}:t${tokens}:qkv`, batch * tokens, E, 3 * E),
      matmulCase(`matmul:vit:e${E}:t${tokens}:mlp`, batch * tokens, E, 4 * E),
    ]));
  return [...square, ...vit];
}

function attentionCases(): BenchCase[] {
  const heads = 12;
  const headDim = 64;
  return SETTINGS.flatMap(({ batch, tokens }) =>
    [false, true].flatMap((bias) =>
      PASSES.map((pass): BenchCase => {
        const fwd = 4 * batch * heads * tokens * tokens * headDim;
        return {
          kind: 'attention', batch, heads, tokens, headDim, bias, pass,
          name: `attention:t${tokens}${bias ? '-bias' : ''}:${pass}`,
          shape: `q, k, v ${fmt([batch, heads, tokens, headDim])}${bias ? `, bias ${fmt([heads, tokens, tokens])}` : ''}`,
          flops: pass === 'fwd' ? fwd : 3.5 * fwd,
          slowOnCpu: false,
        };
      })));
}

function convCase(
  name: string, op: 'conv2d' | 'patch-embed', batch: number, inChannels: number, outChannels: number,
  size: number, kernel: number, slices: number, pass: Pass, slowOnCpu: boolean,
): BenchCase {
  const out = op === 'conv2d' ? size : size / kernel;
  const fwd = 2 * batch * outChannels * out * out * inChannels * slices * kernel * kernel;
  // The patch embedding's input is the image: its backward computes dW only.
  const passes = pass === 'fwd' ? 1 : op === 'conv2d' ? 3 : 2;
  const x = op === 'conv2d' ? [batch, inChannels, size, size] : [batch, inChannels, slices, size, size];
  const w = op === 'conv2d' ? [outChannels, inChannels, kernel, kernel] : [outChannels, inChannels, slices, kernel, kernel];
  return {
    kind: 'conv', op, batch, inChannels, outChannels, size, kernel, slices, pass,
    name: `${name}:${pass}`, shape: `x ${fmt(x)}, w ${fmt(w)}`, flops: passes * fwd, slowOnCpu,
  };
}

function convCases(): BenchCase[] {
  // The ViT-B/16 patch embedding, Conv3d over C = 1 channel and D = 5 slices.
  const patch = SETTINGS.flatMap(({ image, batch }) =>
    PASSES.map((pass) => convCase(`conv:patch-embed:${image}`, 'patch-embed', batch, 1, 768, image, 16, 5, pass, false)));
  // ViT-Tiny's UPerNet (192 channels) 3×3 convs: an FPN conv and the fusion of the four levels
  // (4·192 in) at the finest level (4× the token grid), the PPM bottleneck at the coarsest (½×).
  // Their backward passes, and everything at 512², take minutes on a CPU adapter.
  const upernet = SETTINGS.flatMap(({ image, batch }) => {
    const level = image / 4;
    const coarse = Math.floor(image / 32);
    return PASSES.flatMap((pass) => {
      const slowOnCpu = image > 240 || pass === 'fwd+bwd';
      return [
        convCase(`conv:upernet-tiny-${image}:fpn`, 'conv2d', batch, 192, 192, level, 3, 1, pass, slowOnCpu),
        convCase(`conv:upernet-tiny-${image}:fuse`, 'conv2d', batch, 4 * 192, 192, level, 3, 1, pass, slowOnCpu),
        convCase(`conv:upernet-tiny-${image}:psp`, 'conv2d', batch, 192 + 4 * 192, 192, coarse, 3, 1, pass, slowOnCpu),
      ];
    });
  });
  return [...patch, ...upernet];
}

function rowCases(): BenchCase[] {
  const layernorm = SETTINGS.flatMap(({ batch, tokens }) =>
    PASSES.map((pass): BenchCase => ({
      kind: 'layernorm', rows: batch * tokens, features: 768, pass,
      name: `layernorm:t${tokens}:${pass}`, shape: fmt([batch * tokens, 768]), flops: null, slowOnCpu: false,
    })));
  // The attention logits of a ViT-B block, as a softmax that is not fused into attention sees them.
  const softmax = SETTINGS.flatMap(({ batch, tokens }) =>
    PASSES.map((pass): BenchCase => ({
      kind: 'softmax', rows: batch * 12 * tokens, length: tokens, pass,
      name: `softmax:t${tokens}:${pass}`, shape: fmt([batch * 12 * tokens, tokens]), flops: null, slowOnCpu: false,
    })));
  return [...layernorm, ...softmax];
}

function modelCases(): BenchCase[] {
  // beit-tiny: ViT-Tiny's width with BEiT's blocks (relative position bias, layer scale), as
  // TransSeg's default encoder has them.
  return (['vit-tiny', 'beit-tiny', 'vit-base'] as const).flatMap((model) =>
    SETTINGS.flatMap(({ image, batch }) =>
      (['forward', 'train', 'memory'] as const).map((mode): BenchCase => ({
        kind: 'model', model, image, batch, mode,
        name: `model:${model}:${image}:${mode}`,
        shape: `x ${fmt([batch, 1, 5, image, image])}`,
        flops: null,
        // Counting memory takes seconds; running ViT-B, or any model at 512², takes minutes to an
        // hour per step on a CPU adapter.
        slowOnCpu: mode !== 'memory' && (model === 'vit-base' || image > 240),
      }))));
}

export const CATALOGUE: readonly BenchCase[] = [...matmulCases(), ...attentionCases(), ...convCases(), ...rowCases(), ...modelCases()];

/** `*` matches any run of characters; a pattern without one also matches every name it prefixes up to a `:`. */
function matches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return name === pattern || name.startsWith(`${pattern}:`);
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** `matmul:N` or `matmul:MxKxN` outside the catalogue: an ad-hoc product of that shape. */
function adHocMatmul(pattern: string): BenchCase | null {
  const m = /^matmul:(\d+)(?:x(\d+)x(\d+))?$/.exec(pattern);
  if (!m) return null;
  const [a, b, c] = m[2] ? [m[1], m[2], m[3]].map(Number) : [Number(m[1]), Number(m[1]), Number(m[1])];
  if ([a, b, c].some((d) => d < 1)) return null;
  return matmulCase(pattern, a, b, c);
}

/**
 * The cases `--cases` names (a comma-separated list of names, prefixes or `*` globs), in catalogue
 * order; without patterns, every case, less those slow on a CPU adapter when it is one.
 */
export function selectCases(patterns: readonly string[], cpuAdapter: boolean): BenchCase[] {
  if (patterns.length === 0) return CATALOGUE.filter((c) => !(cpuAdapter && c.slowOnCpu));
  const chosen = new Set<BenchCase>();
  const extra: BenchCase[] = [];
  for (const p of patterns) {
    const hits = CATALOGUE.filter((c) => matches(p, c.name));
    hits.forEach((c) => chosen.add(c));
    if (hits.length > 0) continue;
    const adHoc = adHocMatmul(p);
    if (!adHoc) throw new Error(`bench: --cases '${p}' matches no case; names look like ${['matmul:1024', 'attention:t1024:fwd+bwd', 'model:vit-tiny:240:train'].join(', ')} (see docs/performance.md)`);
    extra.push(adHoc);
  }
  return [...CATALOGUE.filter((c) => chosen.has(c)), ...extra];
}
