// The GPU context: one device, its buffer pool, its compiled pipelines, and the command encoder
// that batches dispatches until something needs their results.

import { acquireDevice, type DeviceInfo, type DeviceOptions } from './device.js';
import { pacedWait } from './dawn-pacing.js';
import { BufferPool, type MemoryStats } from './pool.js';
import { shaderSources, type ShaderEntries, type ShaderName } from './shaders.generated.js';

export type { ShaderEntries, ShaderName };

/** A buffer bound to a kernel: a raw GPUBuffer, or anything holding one (a Tensor). */
export interface Bindable {
  readonly buffer: GPUBuffer;
  /** Bytes the kernel may see. */
  readonly byteLength: number;
  /** Where they start in the buffer (a multiple of 256); 0 when absent. */
  readonly byteOffset?: number;
}

/**
 * The entry points a dispatch of shader `S` may name: those scripts/embed-shaders.mjs found in it
 * (for a union of shaders, those of any of them).
 */
export type EntryOf<S extends ShaderName> = S extends ShaderName ? ShaderEntries[S] : never;

export interface DispatchSpec<S extends ShaderName = ShaderName> {
  /** File name in shaders/ without `.wgsl`. */
  shader: S;
  /** A `@compute` entry point in that file. */
  entry: EntryOf<S>;
  /** Values for the shader's `override` constants (workgroup sizes, tile sizes, flags). */
  constants?: Record<string, number>;
  /** Contents of the `var<uniform>` at @binding(0); omit when the kernel has none. */
  uniforms?: ArrayBuffer;
  /** Storage buffers for @binding(1), @binding(2), ... in order. */
  buffers: Bindable[];
  /**
   * Workgroup grid. A single number is a 1-D count that may exceed the 65535-per-dimension
   * limit: it is split into an (x, y) grid and the shader recovers the linear index with
   * `wid.x + wid.y * nwg.x` (see `linearWorkgroup` in the shaders).
   */
  workgroups: number | [number, number, number];
}

/** Largest x used when splitting a 1-D grid; a multiple of common warp counts. */
const SPLIT_X = 32768;

export function splitGrid(count: number, maxPerDim: number): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(count, 1), 1, 1];
  const x = Math.min(SPLIT_X, maxPerDim);
  const y = Math.ceil(count / x);
  if (y > maxPerDim) throw new Error(`a grid of ${count} workgroups exceeds ${maxPerDim}² even after splitting`);
  return [x, y, 1];
}

/**
 * The invocations a flat kernel over n elements needs: n / 4 for its `_vec4` twin where n is a
 * multiple of 4 (on lavapipe a vec4 load costs about what a scalar one does), else n.
 */
export function flatWork(n: number): { vec4: boolean; count: number } {
  return n % 4 === 0 ? { vec4: true, count: n / 4 } : { vec4: false, count: n };
}

/** Packs a kernel's uniform struct: all u32 fields first, then all f32 fields, in WGSL order. */
export function uniforms(u32: number[], f32: number[] = []): ArrayBuffer {
  const words = u32.length + f32.length;
  const buf = new ArrayBuffer(Math.max(16, Math.ceil(words / 4) * 16));
  const view = new DataView(buf);
  u32.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`uniform u32 #${i} out of range: ${v}`);
    view.setUint32(i * 4, v, true);
  });
  f32.forEach((v, i) => view.setFloat32((u32.length + i) * 4, v, true));
  return buf;
}

const UNIFORM_USAGE = 0x0040 | 0x0008; // UNIFORM | COPY_DST
const UNIFORM_BYTES = 256;
/** Dispatches encoded before a submit is forced, so the driver starts work on long op chains. */
const MAX_PENDING = 128;

export class Gpu {
  readonly pool: BufferPool;
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pending = 0;
  private uniformFree: GPUBuffer[] = [];
  private uniformInFlight: GPUBuffer[] = [];
  private firstError: string | null = null;
  private destroyed = false;

  private constructor(readonly device: GPUDevice, readonly info: DeviceInfo) {
    this.pool = new BufferPool(device, info.limits.maxBufferSize);
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.firstError ??= message;
    });
  }

  static async create(options: DeviceOptions = {}): Promise<Gpu> {
    const { device, info } = await acquireDevice(options);
    return new Gpu(device, info);
  }

  get limits(): Record<string, number> {
    return this.info.limits;
  }

  private pipeline(shader: ShaderName, entry: string, constants: Record<string, number> = {}): GPUComputePipeline {
    const key = `${shader}:${entry}:${JSON.stringify(constants)}`;
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    let module = this.modules.get(shader);
    if (!module) {
      const code = shaderSources[shader] as string | undefined;
      if (code === undefined) throw new Error(`no shader named '${shader}' in shaders/ (run scripts/embed-shaders.mjs)`);
      module = this.device.createShaderModule({ code, label: shader });
      this.modules.set(shader, module);
    }
    pipeline = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: entry, constants },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  private uniformBuffer(data: ArrayBuffer): GPUBuffer {
    if (data.byteLength > UNIFORM_BYTES) throw new Error(`uniform block of ${data.byteLength} bytes exceeds ${UNIFORM_BYTES}`);
    const buffer = this.uniformFree.pop() ?? this.device.createBuffer({ size: UNIFORM_BYTES, usage: UNIFORM_USAGE });
    this.device.queue.writeBuffer(buffer, 0, data);
    this.uniformInFlight.push(buffer);
    return buffer;
  }

  /** Encodes one compute dispatch. It runs when the batch is submitted (see `flush`). */
  dispatch<S extends ShaderName>(spec: DispatchSpec<S>): void {
    this.assertAlive();
    const maxBinding = this.limits.maxStorageBufferBindingSize;
    const entries: GPUBindGroupEntry[] = [];
    if (spec.uniforms) entries.push({ binding: 0, resource: { buffer: this.uniformBuffer(spec.uniforms) } });
    spec.buffers.forEach((b, i) => {
      const size = Math.max(4, Math.ceil(b.byteLength / 4) * 4);
      if (size > maxBinding) {
        throw new Error(
          `${spec.shader}.${spec.entry}: binding ${i + 1} needs ${size} bytes, over this adapter's ` +
            `maxStorageBufferBindingSize of ${maxBinding} bytes; use a smaller batch or image size`,
        );
      }
      entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.byteOffset ?? 0, size } });
    });
    const pipeline = this.pipeline(spec.shader, spec.entry, spec.constants);
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const maxPerDim = this.limits.maxComputeWorkgroupsPerDimension;
    const grid = typeof spec.workgroups === 'number' ? splitGrid(spec.workgroups, maxPerDim) : spec.workgroups;
    for (const n of grid) {
      if (n > maxPerDim) throw new Error(`${spec.shader}.${spec.entry}: grid ${grid.join('×')} exceeds ${maxPerDim} per dimension`);
    }
    this.encoder ??= this.device.createCommandEncoder();
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    if (++this.pending >= MAX_PENDING) this.flush();
  }

  /** Encodes a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.assertAlive();
    if (bytes === 0) return;
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Uploads host data into a buffer, after everything already encoded (which may still use it). */
  write(dst: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.flush();
    this.device.queue.writeBuffer(dst, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits the batched commands. Uniform buffers become reusable: later writes queue after them. */
  flush(): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.pending = 0;
    }
    this.uniformFree.push(...this.uniformInFlight);
    this.uniformInFlight = [];
  }

  /** Copies `bytes` starting at `offset` of a buffer back to the host. */
  async read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    this.assertAlive();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    this.copy(src, offset, staging, 0, size);
    this.flush();
    try {
      await this.wait(() => staging.mapAsync(0x0001)); // GPUMapMode.READ
      return staging.getMappedRange(0, size).slice(0, bytes);
    } finally {
      staging.destroy();
      this.throwIfErrored();
    }
  }

  /** Waits until the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    this.flush();
    await this.wait(() => this.device.queue.onSubmittedWorkDone());
    this.throwIfErrored();
  }

  /** Awaits a promise of the device; through Dawn's node bindings, without spinning a core. */
  private wait<T>(start: () => Promise<T>): Promise<T> {
    return this.info.backend === 'dawn' ? pacedWait(start) : start();
  }

  memory(): MemoryStats {
    return this.pool.stats();
  }

  /** Releases the device so the process can exit. Every tensor of this context becomes unusable. */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.pool.destroyAll();
    for (const b of this.uniformFree) b.destroy();
    this.uniformFree = [];
    this.device.destroy();
    this.destroyed = true;
  }

  private throwIfErrored(): void {
    if (this.firstError !== null) {
      const message = this.firstError;
      this.firstError = null;
      throw new Error(`WebGPU reported an error: ${message}`);
    }
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error('this Gpu context was destroyed');
  }
}
