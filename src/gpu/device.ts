// Getting a GPUDevice in every runtime we support: Node and Bun through the `webgpu` package (Dawn),
// browsers through their built-in `navigator.gpu`, Deno through either (see chooseBackend).

export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser';
/** Dawn through the `webgpu` package's Node-API addon, or the runtime's own `navigator.gpu`. */
export type BackendName = 'dawn' | 'native';

export interface DeviceInfo {
  runtime: RuntimeName;
  backend: BackendName;
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

/**
 * Which WebGPU a context uses: `requested` (DeviceOptions.backend), else $TRANSSEG_WEBGPU_BACKEND,
 * else Dawn in Node and Bun (they have no other), the browser's own, and in Deno Dawn when the
 * process may load Node-API addons (--allow-ffi, or -A) and Deno's built-in wgpu otherwise. Dawn
 * first because Deno's wgpu offers no `subgroups`, which the fast CPU-adapter kernels need
 * (docs/performance.md, "Runtimes"); checking the permission first means Deno never prompts.
 */
function chooseBackend(runtime: RuntimeName, requested: BackendName | undefined): BackendName {
  const choice = requested ?? (envVar('TRANSSEG_WEBGPU_BACKEND') || undefined);
  if (choice !== undefined && choice !== 'dawn' && choice !== 'native') {
    throw new Error(`TRANSSEG_WEBGPU_BACKEND: expected 'dawn' or 'native'; got '${choice}'`);
  }
  if (choice) return choice;
  if (runtime !== 'deno') return runtime === 'browser' ? 'native' : 'dawn';
  return denoGranted({ name: 'ffi' }) ? 'dawn' : 'native';
}

interface DenoApi {
  permissions: { querySync(p: { name: string; variable?: string }): { state: string } };
  env: { get(name: string): string | undefined; set(name: string, value: string): void };
}
const denoApi = () => (globalThis as { Deno?: DenoApi }).Deno;

/** Whether Deno has granted a permission already (asking would prompt on a terminal). */
function denoGranted(p: { name: string; variable?: string }): boolean {
  return denoApi()?.permissions.querySync(p).state === 'granted';
}

/** An environment variable, or undefined where the runtime has none or Deno may not read it. */
function envVar(name: string): string | undefined {
  const deno = denoApi();
  if (deno) return denoGranted({ name: 'env', variable: name }) ? deno.env.get(name) : undefined;
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

async function getGpu(runtime: RuntimeName, backend: BackendName): Promise<GPU> {
  if (backend === 'dawn') {
    if (runtime === 'browser') throw new Error('backend dawn: a browser has only its own WebGPU (backend native)');
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
  if (!nav?.gpu && runtime !== 'browser' && runtime !== 'deno') {
    throw new Error(`backend native: ${runtime} has no built-in WebGPU (navigator.gpu); use backend dawn`);
  }
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
  /** Which WebGPU implementation to use; see chooseBackend for the default. */
  backend?: BackendName;
  /** The adapter's feature level (WebGPU's requestAdapter option): 'core' (default) or 'compatibility'. */
  featureLevel?: 'core' | 'compatibility';
}

/** Optional features our kernels use when the device has them. */
function wantedFeatures(adapter: GPUAdapter, options: DeviceOptions): GPUFeatureName[] {
  const wanted: string[] = options.subgroups === false ? [] : ['subgroups'];
  return [...adapter.features].filter((name) => wanted.includes(name)) as GPUFeatureName[];
}

export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const runtime = detectRuntime();
  let backend = chooseBackend(runtime, options.backend);
  if (backend === 'dawn') {
    // Dawn on Linux wants a runtime dir for its caches; headless CI machines often have none.
    const deno = denoApi();
    if (deno) {
      if (denoGranted({ name: 'env', variable: 'XDG_RUNTIME_DIR' }) && !deno.env.get('XDG_RUNTIME_DIR')) deno.env.set('XDG_RUNTIME_DIR', '/tmp');
    } else {
      const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
      if (env && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
    }
  }
  let gpu: GPU;
  try {
    gpu = await getGpu(runtime, backend);
  } catch (e) {
    // Deno's default: Dawn where it loads (the script may run outside a project with the `webgpu`
    // package), its own WebGPU otherwise. A backend asked for by name must load or fail.
    const asked = options.backend ?? envVar('TRANSSEG_WEBGPU_BACKEND');
    if (runtime !== 'deno' || backend !== 'dawn' || asked) throw e;
    backend = 'native';
    gpu = await getGpu(runtime, backend);
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
    ...(options.featureLevel ? { featureLevel: options.featureLevel } : {}), // only where asked: not every runtime knows the option
  });
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
      backend,
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
