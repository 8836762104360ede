// Loading named host tensors into a module's parameters — strictly: every parameter must be
// given with its exact shape, and nothing unexpected may be left over, so a checkpoint that does
// not fit fails with the full list of what is wrong instead of loading half of itself.

import type { Module } from '../nn/module.js';
import type { HostTensor } from '../tensor/host-tensor.js';

export interface LoadOptions {
  /** Names in `tensors` that may be left unused (a classification head the segmenter drops). */
  ignore?: (name: string) => boolean;
  /** Rewrites a tensor's shape before the check, e.g. a 2-D patch kernel for a depth-1 Conv3d. */
  reshape?: (name: string, shape: number[], expected: readonly number[]) => number[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export function loadWeights(module: Module, tensors: Map<string, HostTensor>, source: string, options: LoadOptions = {}): void {
  const problems: string[] = [];
  const params = module.namedState();
  const wanted = new Set(params.map(([n]) => n));
  for (const [name, param] of params) {
    const t = tensors.get(name);
    if (!t) {
      problems.push(`missing ${name} ${fmt(param.shape)}`);
      continue;
    }
    const shape = options.reshape ? options.reshape(name, t.shape, param.shape) : t.shape;
    if (shape.length !== param.shape.length || shape.some((d, i) => d !== param.shape[i])) {
      problems.push(`shape mismatch ${name}: file has ${fmt(t.shape)}, model expects ${fmt(param.shape)}`);
    }
  }
  for (const name of tensors.keys()) {
    if (!wanted.has(name) && !options.ignore?.(name)) problems.push(`unexpected ${name} ${fmt(tensors.get(name)!.shape)}`);
  }
  if (problems.length) {
    throw new Error(`${source}: the weights do not fit the model (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
  }
  for (const [name, param] of params) param.write(tensors.get(name)!.data);
}

/** Every parameter and buffer of a module, read back to the host under its dotted name. */
export async function readWeights(module: Module): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of module.namedState()) out.set(name, { shape: [...t.shape], data: await t.read() });
  return out;
}
