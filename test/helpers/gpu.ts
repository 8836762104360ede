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
 * adapter, so both are tested on any machine.
 */
export function testGpuVariant(cpuKernels: boolean): Promise<Gpu> {
  let g = variants.get(cpuKernels);
  if (!g) {
    const created = Gpu.create({ cpuKernels });
    variants.set(cpuKernels, (g = created));
    afterAll(async () => (await created).destroy());
  }
  return g;
}
