// The library's GPU context in the browser, and in plain words what it runs on, or why there is
// none: no WebGPU at all (an old browser, a flag not set, a page that is not a secure context) or
// WebGPU without an adapter (a blocklisted GPU or driver).

import { Gpu, NO_ADAPTER_HELP } from '../src/index.js';

type GpuStatus = { gpu: Gpu; text: string } | { gpu: null; text: string };

const HOW_TO_GET_WEBGPU =
  'Use a browser with WebGPU: Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome on Linux ' +
  'started with --enable-unsafe-webgpu --enable-features=Vulkan; Safari 26+; Firefox 141+ on Windows.';

function describeAdapter(gpu: Gpu): string {
  const { vendor, architecture, device, description } = gpu.info.adapter;
  const name = [vendor, architecture, device, description].filter(Boolean).join(' ') || 'an adapter that gives no name';
  const software = gpu.info.cpu ? ' (a software adapter running on the CPU: expect minutes where a GPU takes seconds)' : '';
  return `WebGPU adapter: ${name}${software}.`;
}

export async function connectGpu(): Promise<GpuStatus> {
  if (!navigator.gpu) {
    const why = window.isSecureContext
      ? 'This browser offers no WebGPU (navigator.gpu is missing).'
      : 'WebGPU needs a secure context: open the page as http://127.0.0.1:… or http://localhost:… (or over HTTPS), not by another address.';
    return { gpu: null, text: `${why} ${HOW_TO_GET_WEBGPU}` };
  }
  try {
    const gpu = await Gpu.create();
    return { gpu, text: describeAdapter(gpu) };
  } catch (e) {
    const message = (e as Error).message;
    if (message !== NO_ADAPTER_HELP) return { gpu: null, text: `WebGPU could not start: ${message}` };
    return {
      gpu: null,
      text: 'WebGPU is there, but the browser gave no adapter: its GPU or driver may be blocklisted (see chrome://gpu), ' +
        `or the flag that enables it is missing. ${HOW_TO_GET_WEBGPU}`,
    };
  }
}
