// Getting a GPUDevice in every runtime we support: Node and Bun through the `webgpu` package (Dawn),
// Deno and browsers through their built-in `navigator.gpu`.

export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser';

export interface DeviceInfo {
  runtime: RuntimeName;
  adapter: { vendor: string; architecture: string; device: string; description: string };
  /**
   * A software adapter running on the CPU (Mesa lavapipe, SwiftShader). Kernels that have a
   * CPU-friendly variant (no workgroup barriers) choose it when this is set.
   */
  cpu: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface AcquiredDevice {
  device: GPUDevice;
  info: DeviceInfo;
}

/** The limits a compute library cares about; we ask the adapter for its largest value of each. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindingsPerBindGroup',
] as const;

export const NO_ADAPTER_HELP =
  'No WebGPU adapter found. On a machine without a GPU, install a Vulkan driver that runs on the CPU: ' +
  'on Debian 12, enable bookworm-backports and run `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` ' +
  '(Dawn needs Mesa >= 23). Elsewhere install your GPU vendor\'s Vulkan, Metal or D3D12 driver. ' +
  'In a browser, use one with WebGPU enabled (Chrome/Edge 113+, or --enable-unsafe-webgpu).';

export function detectRuntime(): RuntimeName {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno !== 'undefined') return 'deno';
  if (typeof g.Bun !== 'undefined') return 'bun';
  const proc = g.process as { versions?: { node?: string } } | undefined;
  if (proc?.versions?.node) return 'node';
  return 'browser';
}

/**
 * The Dawn instance must stay referenced while any of its devices is in use: if it is garbage
 * collected, pending work never completes and the process aborts at exit.
 */
let dawnInstance: GPU | null = null;

async function getGpu(runtime: RuntimeName): Promise<GPU> {
  if (runtime === 'node' || runtime === 'bun') {
    if (dawnInstance) return dawnInstance;
    // The module name is in a variable so browser bundlers leave this import alone.
    const moduleName = 'webgpu';
    const dawn = (await import(/* @vite-ignore */ moduleName)) as {
      create: (flags: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    // GPUBufferUsage, GPUMapMode, ... are globals in browsers and Deno; the Dawn bindings export them.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    dawnInstance = dawn.create([]);
    return dawnInstance;
  }
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu) throw new Error(NO_ADAPTER_HELP);
  return nav.gpu;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /**
   * Use the kernel variants written for CPU adapters (true) or for GPUs (false) whatever the
   * adapter is; detected from the adapter when absent. Tests use it to run both variants.
   */
  cpuKernels?: boolean;
  /**
   * Ask for the 'subgroups' feature when the adapter offers it (default true): the CPU-adapter
   * matmul and attention kernels use it. False gives a device without it, so tests can run the
   * kernels written for devices that lack it.
   */
  subgroups?: boolean;
}

/** Optional features our kernels use when the device has them. */
function wantedFeatures(adapter: GPUAdapter, options: DeviceOptions): GPUFeatureName[] {
  const wanted: string[] = options.subgroups === false ? [] : ['subgroups'];
  return [...adapter.features].filter((name) => wanted.includes(name)) as GPUFeatureName[];
}

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const runtime = detectRuntime();
  if (runtime === 'node' || runtime === 'bun') {
    // Dawn on Linux wants a runtime dir for its caches; headless CI machines often have none.
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
    if (env && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
  }
  const gpu = await getGpu(runtime);
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);

  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: wantedFeatures(adapter, options) });
  const info = adapter.info;
  const text = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
  const fallback = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true;
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) limits[name] = (device.limits as unknown as Record<string, number>)[name];
  return {
    device,
    info: {
      runtime,
      adapter: {
        vendor: info?.vendor ?? '',
        architecture: info?.architecture ?? '',
        device: info?.device ?? '',
        description: info?.description ?? '',
      },
      cpu: options.cpuKernels ?? (fallback || /llvmpipe|lavapipe|swiftshader/i.test(text)),
      features: [...device.features].sort(),
      limits,
    },
  };
}
