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

function describeAdapter(gpu: Gpu): string {
  const { vendor, architecture, device, description } = gpu.info.adapter;
  const name = [vendor, architecture, device, description].filter(Boolean).join(' ') || 'an adapter that gives no name';
  const software = gpu.info.cpu ? ' (a software adapter running on the CPU: expect minutes where a GPU takes seconds)' : '';
  return `WebGPU adapter: ${name}${software}.`;
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
    return (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })) ? null : NO_ADAPTER;
  } catch (e) {
    return `WebGPU could not start: ${(e as Error).message}`;
  }
}

/** In the worker: the library's GPU context and the sentence naming its adapter. */
export async function startGpu(options: DeviceOptions): Promise<{ gpu: Gpu; text: string }> {
  try {
    const gpu = await Gpu.create(options);
    return { gpu, text: describeAdapter(gpu) };
  } catch (e) {
    const message = (e as Error).message;
    throw new Error(message === NO_ADAPTER_HELP ? NO_ADAPTER : `WebGPU could not start: ${message}`);
  }
}

/**
 * Kernel choices from the page's address, for comparing them on one browser: `?kernels=gpu` (or
 * `cpu`) forces the kernel variants written for GPUs (or CPU adapters) whatever the adapter is, and
 * `?subgroups=off` asks for a device without subgroups. Without them the library decides.
 */
export function deviceOptionsFromUrl(search: string): DeviceOptions {
  const params = new URLSearchParams(search);
  const kernels = params.get('kernels');
  return {
    ...(kernels === 'gpu' || kernels === 'cpu' ? { cpuKernels: kernels === 'cpu' } : {}),
    ...(params.get('subgroups') === 'off' ? { subgroups: false } : {}),
  };
}
