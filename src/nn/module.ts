// Module: a named tree of parameters, like torch.nn.Module. Parameter names are the dotted paths
// PyTorch would give them (`blocks.0.attn.qkv.weight`), so checkpoints map one to one.

import type { Gpu } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';

/** A stable 32-bit hash of a string, to derive child seeds from names. */
function hashName(seed: number, name: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = true;

  constructor(readonly gpu: Gpu, readonly seed: number) {}

  /** A seed for the parameter or child called `name`, stable across runs. */
  protected seedFor(name: string): number {
    return hashName(this.seed, name);
  }

  /** Registers a trainable parameter initialised with `values`. */
  protected param(name: string, shape: number[], values: Float32Array): Tensor {
    const t = keep(Tensor.fromArray(this.gpu, values, shape));
    t.requiresGrad = true;
    t.name = name;
    this.ownParams.set(name, t);
    return t;
  }

  /** Registers a non-trainable state tensor (BatchNorm's running statistics). */
  protected buffer(name: string, shape: number[], values: Float32Array): Tensor {
    const t = keep(Tensor.fromArray(this.gpu, values, shape));
    t.name = name;
    this.ownBuffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, module: M): M {
    this.children.set(name, module);
    return module;
  }

  /** Every parameter with its dotted name, depth first in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Parameters and non-trainable buffers: everything a checkpoint stores. */
  namedState(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, t] of this.ownBuffers) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedState(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Switches training-time behaviour (dropout, batch statistics) on or off, recursively. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer of this module and its children. */
  dispose(): void {
    for (const t of this.ownParams.values()) t.dispose();
    for (const t of this.ownBuffers.values()) t.dispose();
    for (const m of this.children.values()) m.dispose();
  }
}
