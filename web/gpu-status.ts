// Whether this browser can run the models, in plain words: no WebGPU at all (an old browser, a
// flag not set, a page that is not a secure context), WebGPU without an adapter (a blocklisted GPU
// or driver), or an adapter, named. The page asks first (checkWebGpu, no device made); the worker
// then opens the device the library runs on (startGpu) and names its adapter.

import { Gpu, NO_ADAPTER_HELP, type DeviceOptions } from '../src/index.js';

const HOW_TO_GET_WEBGPU =
  'Use a browser with WebGPU: Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome on Linux ' +
  'started with --enable-unsafe-webgpu --enable-features=Vulkan; Safari 26+; Firefox 141+ on Windows.';

const NO_ADAPTER =
  'WebGPU is there, but the browser gave no adapter: its GPU or driver may be blocklisted (see chrome://gpu), ' +
  `or the flag that enables it is missing. ${HOW_TO_GET_WEBGPU}`;

function describeAdapter(gpu: Gpu, options: DeviceOptions): string {
  const { vendor, architecture, device, description } = gpu.info.adapter;
  const name = [vendor, architecture, device, description].filter(Boolean).join(' ') || 'an adapter that gives no name';
  const level = options.featureLevel === 'compatibility' ? ', at WebGPU\'s compatibility level' : '';
  const software = gpu.info.cpu ? ' (a software adapter running on the CPU: expect minutes where a GPU takes seconds)' : '';
  return `WebGPU adapter: ${name}${level}${software}.${/swiftshader/i.test(name) ? FASTER_WITHOUT_GPU : ''}`;
}

const FASTER_WITHOUT_GPU = ' Without a GPU, Chromium started with --enable-unsafe-webgpu --use-angle=vulkan --use-webgpu-adapter=opengles ' +
  'runs this page about ten times faster, on Mesa\'s lavapipe.';

const POWER = { powerPreference: 'high-performance' } as const;

/**
 * The adapter to ask for when the address does not say (`?adapter=core` or `compat`). Without a GPU,
 * Chromium's core-level adapter is its bundled SwiftShader (a fallback adapter). Started with
 * `--use-angle=vulkan --use-webgpu-adapter=opengles` it also offers, at WebGPU's compatibility
 * level, Dawn's OpenGL ES backend on ANGLE on the system's Vulkan driver: Mesa's lavapipe on such a
 * machine, which runs our kernels about ten times faster than SwiftShader (docs/web.md, "Without a
 * GPU"). So a compatibility-level adapter that is not a fallback one is taken when the core level
 * has only a fallback adapter (or none). Chromium names no vendor for it on lavapipe, where a GPU
 * would be named: an unnamed one gets the kernels written for CPU adapters.
 */
async function chooseAdapter(options: DeviceOptions): Promise<DeviceOptions> {
  if (options.featureLevel) return options;
  const core = await navigator.gpu.requestAdapter(POWER);
  // `info` and its isFallbackAdapter are recent (Chrome 136): where they are missing, nothing changes.
  if (core && core.info?.isFallbackAdapter !== true) return options;
  const compat = await navigator.gpu.requestAdapter({ ...POWER, featureLevel: 'compatibility' });
  if (compat?.info?.isFallbackAdapter !== false) return options;
  return { featureLevel: 'compatibility', ...(compat.info.vendor === '' ? { cpuKernels: true } : {}), ...options };
}

/** In the page: why there is no usable WebGPU here, or null when an adapter is offered. */
export async function checkWebGpu(): Promise<string | null> {
  if (!navigator.gpu) {
    const why = window.isSecureContext
      ? 'This browser offers no WebGPU (navigator.gpu is missing).'
      : 'WebGPU needs a secure context: open the page as http://127.0.0.1:… or http://localhost:… (or over HTTPS), not by another address.';
    return `${why} ${HOW_TO_GET_WEBGPU}`;
  }
  try {
    const adapter = (await navigator.gpu.requestAdapter(POWER)) ?? (await navigator.gpu.requestAdapter({ ...POWER, featureLevel: 'compatibility' }));
    return adapter ? null : NO_ADAPTER;
  } catch (e) {
    return `WebGPU could not start: ${(e as Error).message}`;
  }
}

/** In the worker: the library's GPU context and the sentence naming its adapter. */
export async function startGpu(options: DeviceOptions): Promise<{ gpu: Gpu; text: string }> {
  try {
    const chosen = await chooseAdapter(options);
    const gpu = await Gpu.create(chosen);
    return { gpu, text: describeAdapter(gpu, chosen) };
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message === NO_ADAPTER_HELP ? NO_ADAPTER : `WebGPU could not start: ${message}`);
  }
}

/**
 * Kernel and adapter choices from the page's address, for comparing them on one browser:
 * `?kernels=gpu` (or `cpu`) forces the kernel variants written for GPUs (or CPU adapters) whatever
 * the adapter is, `?subgroups=off` asks for a device without subgroups, and `?adapter=core` (or
 * `compat`) asks for an adapter at WebGPU's core (or compatibility) level. Without them the library
 * decides the kernels and chooseAdapter the adapter.
 */
export function deviceOptionsFromUrl(search: string): DeviceOptions {
  const params = new URLSearchParams(search);
  const kernels = params.get('kernels');
  return {
    ...(kernels === 'gpu' || kernels === 'cpu' ? { cpuKernels: kernels === 'cpu' } : {}),
    ...(params.get('subgroups') === 'off' ? { subgroups: false } : {}),
    ...(params.get('adapter') === 'compat' ? { featureLevel: 'compatibility' as const } : {}),
    ...(params.get('adapter') === 'core' ? { featureLevel: 'core' as const } : {}),
  };
}
