// A context for the CPU kernels that use subgroups (matmul-subgroups.wgsl, attention-subgroups.wgsl).
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.js';
import { cpuSubgroups } from '../../src/ops/subgroups.js';

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

/** Runs `run` and returns the entry points it dispatched on `gpu`, so a test can check which kernel ran. */
export async function entriesUsed(gpu: Gpu, run: () => Promise<void>): Promise<string[]> {
  const entries: string[] = [];
  const dispatch = gpu.dispatch;
  gpu.dispatch = (spec) => {
    entries.push(spec.entry);
    dispatch.call(gpu, spec);
  };
  try {
    await run();
  } finally {
    Reflect.deleteProperty(gpu, 'dispatch');
  }
  return entries;
}
