// A context for the CPU kernels that use subgroups (matmul-subgroups.wgsl, attention-subgroups.wgsl).
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.js';
import { cpuSubgroups } from '../../src/ops/subgroups.js';
import { testGpuVariant } from './gpu.js';

let created: Promise<Gpu | null> | null = null;

/**
 * A context with the CPU kernels forced on whose device has the 'subgroups' feature, or null where
 * the adapter cannot give one.
 */
export function subgroupGpu(): Promise<Gpu | null> {
  created ??= (async () => {
    const gpu = await Gpu.create({ cpuKernels: true });
    if (cpuSubgroups(gpu)) {
      afterAll(() => gpu.destroy());
      return gpu;
    }
    gpu.destroy();
    return null;
  })();
  return created;
}

/** Runs `run` and returns the kernels it dispatched on `gpu` as `shader:entry`, so a test can check which ran. */
export async function kernelsUsed(gpu: Gpu, run: () => Promise<void>): Promise<string[]> {
  const kernels: string[] = [];
  const dispatch = gpu.dispatch.bind(gpu);
  gpu.dispatch = (spec) => {
    kernels.push(`${spec.shader}:${spec.entry}`);
    dispatch(spec);
  };
  try {
    await run();
  } finally {
    Reflect.deleteProperty(gpu, 'dispatch');
  }
  return kernels;
}

/** The entry points of `kernelsUsed`. */
export async function entriesUsed(gpu: Gpu, run: () => Promise<void>): Promise<string[]> {
  return (await kernelsUsed(gpu, run)).map((k) => k.split(':')[1]);
}

/**
 * The three kernel families of matmul and the convolutions: workgroup tiles (GPUs), registers (CPU
 * adapters), registers with subgroup shuffles (CPU adapters with subgroups). `gpu` resolves to
 * null where the adapter has no subgroups.
 */
export const KERNEL_VARIANTS: { name: string; gpu: () => Promise<Gpu | null> }[] = [
  { name: 'workgroup-tile', gpu: () => testGpuVariant(false) },
  { name: 'register', gpu: () => testGpuVariant(true) },
  { name: 'subgroup', gpu: subgroupGpu },
];
