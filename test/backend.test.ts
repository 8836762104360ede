// Which WebGPU a context gets (src/gpu/device.ts chooseBackend). Under Node the only one is Dawn;
// Deno's default (Dawn with --allow-ffi, else its own) is checked by test/runtime/smoke.mjs runs.
import { afterEach, describe, expect, it } from 'vitest';
import { Gpu } from '../src/gpu/gpu.js';

const ENV = 'TRANSSEG_WEBGPU_BACKEND';

describe('WebGPU backend', () => {
  afterEach(() => {
    delete process.env[ENV];
  });

  it('is Dawn in Node by default and when asked for', async () => {
    for (const options of [{}, { backend: 'dawn' as const }]) {
      const gpu = await Gpu.create(options);
      expect(gpu.info.runtime).toBe('node');
      expect(gpu.info.backend).toBe('dawn');
      gpu.destroy();
    }
  });

  it('refuses a native backend where the runtime has none, and a misspelt override', async () => {
    await expect(Gpu.create({ backend: 'native' })).rejects.toThrow(/backend native: node has no built-in WebGPU \(navigator.gpu\); use backend dawn/);
    process.env[ENV] = 'wgpu';
    await expect(Gpu.create()).rejects.toThrow(/TRANSSEG_WEBGPU_BACKEND: expected 'dawn' or 'native'; got 'wgpu'/);
    process.env[ENV] = 'native';
    await expect(Gpu.create()).rejects.toThrow(/backend native: node has no built-in WebGPU/);
  });
});
