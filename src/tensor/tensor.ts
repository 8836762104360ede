// Tensor: an f32 array on the GPU with a shape. Storage is reference-counted so that views
// (reshape) and the autograd tape can hold the same buffer; each Tensor object is one reference,
// released by `dispose()`.

import type { Gpu } from '../gpu/gpu.js';
import type { TapeEntry } from './tape-entry.js';
import { track } from './scope.js';

export class Storage {
  refs = 1;
  constructor(readonly gpu: Gpu, readonly buffer: GPUBuffer) {}
  release(): void {
    if (--this.refs === 0) this.gpu.pool.release(this.buffer);
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[], what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what} [${shape.join(', ')}]: dimensions must be non-negative integers`);
  }
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private storage: Storage | null;
  /** Where this tensor's elements start in the buffer (non-zero only for views into an arena). */
  private offset: number;
  /** Set on leaves (parameters) whose gradient `backward()` should compute. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf with requiresGrad, after `backward()`. */
  grad: Tensor | null = null;
  /** The tape entry that produced this tensor, while it is on the tape. */
  gradFn: TapeEntry | null = null;
  name: string | undefined;

  private constructor(readonly gpu: Gpu, storage: Storage, shape: readonly number[], byteOffset = 0) {
    this.storage = storage;
    this.offset = byteOffset;
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
  }

  /** An uninitialised tensor (contents are whatever the pooled buffer held). */
  static empty(gpu: Gpu, shape: readonly number[]): Tensor {
    checkShape(shape);
    const buffer = gpu.pool.acquire(numel(shape) * 4);
    return track(new Tensor(gpu, new Storage(gpu, buffer), shape));
  }

  static fromArray(gpu: Gpu, data: ArrayLike<number>, shape: readonly number[]): Tensor {
    checkShape(shape);
    if (data.length !== numel(shape)) {
      throw new Error(`data has ${data.length} elements but shape [${shape.join(', ')}] needs ${numel(shape)}`);
    }
    const t = Tensor.empty(gpu, shape);
    gpu.write(t.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  get buffer(): GPUBuffer {
    if (!this.storage) throw new Error(`tensor [${this.shape.join(', ')}]${this.name ? ` '${this.name}'` : ''} used after dispose()`);
    return this.storage.buffer;
  }

  get byteLength(): number {
    return this.size * 4;
  }

  get byteOffset(): number {
    return this.offset;
  }

  /**
   * Moves this tensor's data into `arena` at `byteOffset` (a multiple of the adapter's
   * minStorageBufferOffsetAlignment) and makes the tensor a view of it. The optimiser uses this to
   * lay a parameter group out in one buffer, so one kernel updates the whole group. Views and
   * tape references made earlier keep the old storage.
   */
  moveInto(arena: Tensor, byteOffset: number): void {
    const from = this.buffer;
    const storage = arena.storage;
    if (!storage) throw new Error('moveInto: the arena was disposed');
    if (byteOffset % 256 !== 0) throw new Error(`moveInto: offset ${byteOffset} is not a multiple of 256`);
    if (byteOffset + this.byteLength > arena.offset + arena.byteLength) throw new Error('moveInto: tensor does not fit in the arena');
    this.gpu.copy(from, this.offset, storage.buffer, byteOffset, this.byteLength);
    storage.refs++;
    this.storage!.release();
    this.storage = storage;
    this.offset = byteOffset;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Another reference to the same storage under a new shape (same number of elements; -1 infers one). */
  reshapeView(shape: readonly number[]): Tensor {
    const resolved = inferShape(shape, this.size, this.shape);
    const storage = this.storage;
    if (!storage) throw new Error('reshape of a disposed tensor');
    storage.refs++;
    return track(new Tensor(this.gpu, storage, resolved, this.offset));
  }

  /** An extra reference that no scope owns; the autograd tape uses it to keep saved tensors alive. */
  retain(): Tensor {
    const storage = this.storage;
    if (!storage) throw new Error('retain of a disposed tensor');
    storage.refs++;
    const t = new Tensor(this.gpu, storage, this.shape, this.offset);
    t.requiresGrad = this.requiresGrad;
    t.gradFn = this.gradFn;
    return t;
  }

  /** Overwrites the values from the host (same number of elements). */
  write(data: ArrayLike<number>): void {
    if (data.length !== this.size) throw new Error(`write: ${data.length} values for a tensor of ${this.size} elements`);
    this.gpu.write(this.buffer, data instanceof Float32Array ? data : Float32Array.from(data), this.offset);
  }

  /** Copies the values back to the host. */
  async read(): Promise<Float32Array> {
    const bytes = await this.gpu.read(this.buffer, this.byteLength, this.offset);
    return new Float32Array(bytes);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got [${this.shape.join(', ')}]`);
    return (await this.read())[0];
  }

  /** Releases this reference; the buffer returns to the pool when no reference is left. Idempotent. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    return `Tensor[${this.shape.join(', ')}]${this.name ? ` ${this.name}` : ''}`;
  }
}

export function inferShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = numel(out.filter((_, i) => i !== unknown));
    if (known === 0 || size % known !== 0) throw new Error(`cannot reshape [${from.join(', ')}] to [${shape.join(', ')}]`);
    out[unknown] = size / known;
  }
  checkShape(out);
  if (numel(out) !== size) throw new Error(`cannot reshape [${from.join(', ')}] (${size} elements) to [${shape.join(', ')}]`);
  return out;
}
