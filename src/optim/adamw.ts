// AdamW with torch.optim.AdamW semantics, fused over parameter arenas.
//
// The constructor moves each group's parameters into one GPU buffer (an arena; each parameter
// starts at a multiple of 256 bytes, the gaps are zero) and gives the group same-layout arenas
// for the two moment estimates and the gradients. A group bigger than one storage binding may be
// (maxStorageBufferBindingSize: 128 MiB on lavapipe, ViT-B has 330 MiB of decayed weights) gets
// several arenas, filled in parameter order. A step copies each gradient into its slot of the
// gradient arena (a buffer copy, no kernel; a missing gradient is zero-filled) and runs ONE kernel
// per arena that updates the parameters and both moments in place. Nothing is read back to the
// host during a step.
//
// One difference from PyTorch: a parameter without a gradient is updated as if its gradient were
// zero (weight decay applies, the moments decay) instead of being skipped.

import { uniforms, type Bindable, type Gpu } from '../gpu/gpu.js';
import { bucketSize } from '../gpu/pool.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { globalGradNorm } from './clip.js';

export interface ParamGroup {
  params: Tensor[];
  /** Decoupled weight decay of this group; the optimiser's default when omitted (0 for no-decay groups). */
  weightDecay?: number;
}

export interface AdamWOptions {
  /** Default 3e-5 (TransSeg). */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Default weight decay of the groups; 0.05 (TransSeg). */
  weightDecay?: number;
}

export interface StepOptions {
  /**
   * Clip the global gradient norm to this value first (clip_grad_norm_ over every parameter of
   * the optimiser). The gradients themselves are left as they are; the update uses the clipped ones.
   */
  clip?: number;
}

/** Moment estimates per parameter, in the order the parameters were given, and the step count. */
export interface AdamWState {
  step: number;
  expAvg: Float32Array[];
  expAvgSq: Float32Array[];
}

/** Byte alignment of every parameter in an arena (WebGPU's storage-binding offset alignment). */
const ALIGN = 256;

interface Arena {
  weightDecay: number;
  params: Tensor[];
  /** Byte offset of each parameter in every arena of the group. */
  offsets: number[];
  /** The parameters are views of this buffer. */
  param: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
  grad: Tensor;
}

function checkRange(name: string, value: number, lo: number, hi = Infinity): void {
  if (!(value >= lo && value < hi) || !Number.isFinite(value)) {
    throw new Error(`AdamW: ${name} must be in [${lo}, ${hi}), got ${value}`);
  }
}

export class AdamW {
  private lrValue: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private steps = 0;
  private readonly arenas: Arena[] = [];
  private readonly gpu: Gpu;
  /** Every parameter, in the order given. */
  readonly params: readonly Tensor[];

  constructor(groups: ParamGroup[], options: AdamWOptions = {}) {
    const { lr = 3e-5, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.05 } = options;
    checkRange('lr', lr, 0);
    checkRange('betas[0]', betas[0], 0, 1);
    checkRange('betas[1]', betas[1], 0, 1);
    checkRange('eps', eps, 0);
    this.lrValue = lr;
    [this.beta1, this.beta2] = betas;
    this.eps = eps;

    this.params = groups.flatMap((g) => g.params);
    if (this.params.length === 0) throw new Error('AdamW: no parameters given');
    if (new Set(this.params).size !== this.params.length) throw new Error('AdamW: a parameter appears more than once');
    this.gpu = this.params[0].gpu;
    if (this.params.some((p) => p.gpu !== this.gpu)) throw new Error('AdamW: the parameters belong to different Gpu contexts');
    // Everything is checked before the first parameter moves.
    const layouts = groups.map((group, i) => {
      const wd = group.weightDecay ?? weightDecay;
      checkRange(`weightDecay of group ${i}`, wd, 0);
      return { wd, chunks: layOut(this.gpu, group.params, i) };
    });
    for (const { wd, chunks } of layouts) {
      for (const { params, offsets, bytes } of chunks) this.arenas.push(this.buildArena(params, wd, offsets, bytes));
    }
  }

  /** Zeroed arenas for one group; the parameters move into the first. */
  private buildArena(params: Tensor[], weightDecay: number, offsets: number[], bytes: number): Arena {
    // Whole vec4s, for the kernel (the padding is zero, like the gaps, and stays zero).
    const elements = Math.ceil(bytes / 16) * 4;
    const zeros = (): Tensor => {
      const t = keep(Tensor.empty(this.gpu, [elements]));
      fillZero(this.gpu, t);
      return t;
    };
    const arena: Arena = {
      weightDecay, params, offsets, param: zeros(), expAvg: zeros(), expAvgSq: zeros(), grad: zeros(),
    };
    params.forEach((p, i) => p.moveInto(arena.param, offsets[i]));
    return arena;
  }

  get lr(): number {
    return this.lrValue;
  }

  setLearningRate(lr: number): void {
    checkRange('lr', lr, 0);
    this.lrValue = lr;
  }

  /** Optimiser steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * One AdamW update of every parameter from its `.grad`. With `clip`, returns the global gradient
   * norm before clipping (shape [], on the GPU: read it only when you want to log it); else null.
   */
  step(options: StepOptions = {}): Tensor | null {
    const { clip } = options;
    if (clip !== undefined && (!(clip > 0) || !Number.isFinite(clip))) {
      throw new Error(`AdamW.step: clip must be a finite number > 0, got ${clip}`);
    }
    for (const arena of this.arenas) gatherGrads(arena);
    const clipped = clip === undefined ? null : globalGradNorm(this.gpu, this.arenas.map((a) => a.grad), clip);

    this.steps++;
    // Scalars are formed in f64 on the host, as PyTorch forms them in Python floats.
    const lr = this.lrValue;
    const stepSize = lr / (1 - this.beta1 ** this.steps);
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** this.steps);
    for (const a of this.arenas) {
      this.gpu.dispatch({
        shader: 'optim',
        entry: 'adamw',
        constants: { CLIP: clipped ? 1 : 0 },
        uniforms: uniforms([a.param.size / 4], [
          1 - lr * a.weightDecay, this.beta1, 1 - this.beta1, this.beta2, 1 - this.beta2, this.eps, stepSize, bc2Sqrt,
        ]),
        // Without clipping the coefficient binding is unused; the gradient arena stands in.
        buffers: [a.param, a.expAvg, a.expAvgSq, a.grad, clipped?.coefficient ?? a.grad],
        workgroups: Math.ceil(a.param.size / 4 / 256),
      });
    }
    clipped?.coefficient.dispose();
    return clipped?.norm ?? null;
  }

  /** Disposes every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The moment estimates and step count, copied to the host (for checkpoints). */
  async state(): Promise<AdamWState> {
    const state: AdamWState = { step: this.steps, expAvg: [], expAvgSq: [] };
    for (const a of this.arenas) {
      const m = await a.expAvg.read();
      const v = await a.expAvgSq.read();
      a.params.forEach((p, i) => {
        const start = a.offsets[i] / 4;
        state.expAvg.push(m.slice(start, start + p.size));
        state.expAvgSq.push(v.slice(start, start + p.size));
      });
    }
    return state;
  }

  /** Restores what `state()` returned, so that training resumes exactly. */
  loadState(state: AdamWState): void {
    const n = this.params.length;
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`AdamW.loadState: step must be an integer >= 0, got ${state.step}`);
    if (state.expAvg.length !== n || state.expAvgSq.length !== n) {
      throw new Error(`AdamW.loadState: state has ${state.expAvg.length}/${state.expAvgSq.length} moment arrays for ${n} parameters`);
    }
    let k = 0;
    for (const a of this.arenas) {
      a.params.forEach((p, i) => {
        const [m, v] = [state.expAvg[k], state.expAvgSq[k]];
        if (m.length !== p.size || v.length !== p.size) {
          throw new Error(`AdamW.loadState: parameter ${k} [${p.shape.join(', ')}] has ${p.size} elements, state has ${m.length}/${v.length}`);
        }
        this.gpu.write(a.expAvg.buffer, m, a.offsets[i]);
        this.gpu.write(a.expAvgSq.buffer, v, a.offsets[i]);
        k++;
      });
    }
    this.steps = state.step;
  }

  /** Frees the moment and gradient arenas. The parameters keep their (arena) storage. */
  dispose(): void {
    for (const a of this.arenas) for (const t of [a.param, a.expAvg, a.expAvgSq, a.grad]) t.dispose();
  }
}

/** Consecutive parameters of a group that share one set of arenas. */
interface Chunk {
  params: Tensor[];
  /** Byte offset of each parameter in the chunk's arenas (each aligned). */
  offsets: number[];
  /** Bytes of each arena. */
  bytes: number;
}

/** A group's parameters split, in order, into chunks whose arenas fit in one storage binding. */
function layOut(gpu: Gpu, params: Tensor[], index: number): Chunk[] {
  const { maxStorageBufferBindingSize, maxBufferSize } = gpu.limits;
  // The pool rounds buffers up to its bucket sizes: the rounded size must fit too.
  const fits = (bytes: number) => bytes <= maxStorageBufferBindingSize && bucketSize(bytes) <= maxBufferSize;
  const chunks: Chunk[] = [];
  let chunk: Chunk | null = null;
  params.forEach((p, i) => {
    if (!fits(p.byteLength)) {
      throw new Error(
        `AdamW: parameter ${i} of group ${index} [${p.shape.join(', ')}] has ${p.byteLength} bytes, over this ` +
          `adapter's limits (maxStorageBufferBindingSize ${maxStorageBufferBindingSize}, maxBufferSize ${maxBufferSize})`,
      );
    }
    let offset = chunk ? Math.ceil(chunk.bytes / ALIGN) * ALIGN : 0;
    if (!chunk || !fits(offset + p.byteLength)) {
      chunk = { params: [], offsets: [], bytes: 0 };
      chunks.push(chunk);
      offset = 0;
    }
    chunk.params.push(p);
    chunk.offsets.push(offset);
    chunk.bytes = offset + p.byteLength;
  });
  return chunks;
}

function fillZero(gpu: Gpu, range: Bindable): void {
  const n = range.byteLength / 4;
  gpu.dispatch({ shader: 'optim', entry: 'fill_zero', uniforms: uniforms([n]), buffers: [range], workgroups: Math.ceil(n / 256) });
}

/** Copies each parameter's gradient into its slot of the gradient arena; a missing one becomes zeros. */
function gatherGrads(a: Arena): void {
  const gpu = a.grad.gpu;
  a.params.forEach((p, i) => {
    if (p.size === 0) return;
    const g = p.grad;
    if (!g) {
      fillZero(gpu, { buffer: a.grad.buffer, byteOffset: a.offsets[i], byteLength: p.byteLength });
      return;
    }
    if (g.size !== p.size) {
      throw new Error(`AdamW.step: the gradient of parameter [${p.shape.join(', ')}] has shape [${g.shape.join(', ')}]`);
    }
    gpu.copy(g.buffer, g.byteOffset, a.grad.buffer, a.offsets[i], p.byteLength);
  });
}
