// One GPU context per test file (vitest runs each file in its own worker).
import { afterAll } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.js';

let gpu: Promise<Gpu> | null = null;

export function testGpu(): Promise<Gpu> {
  if (!gpu) {
    gpu = Gpu.create();
    afterAll(async () => (await gpu!).destroy());
  }
  return gpu;
}
