// One GPU context per test file (vitest runs each file in its own worker).
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.js';

let gpu: Promise<Gpu> | null = null;
const variants = new Map<boolean, Promise<Gpu>>();

export function testGpu(): Promise<Gpu> {
  if (!gpu) {
    gpu = Gpu.create();
    afterAll(async () => (await gpu!).destroy());
  }
  return gpu;
}

/**
 * A context that uses the CPU-adapter kernel variants (true) or the GPU ones (false) whatever the
 * adapter, so both are tested on any machine. Its device has no subgroups, so the CPU variants are
 * the register-blocked kernels; test/helpers/subgroups.ts gives the subgroup ones.
 */
export function testGpuVariant(cpuKernels: boolean): Promise<Gpu> {
  let g = variants.get(cpuKernels);
  if (!g) {
    const created = Gpu.create({ cpuKernels, subgroups: false });
    variants.set(cpuKernels, (g = created));
    afterAll(async () => (await created).destroy());
  }
  return g;
}
