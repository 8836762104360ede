// Model-file mutations for the fuzz suite: our own files (written by the library), with one
// metadata field anywhere in its JSON set to a boundary value or deleted, a metadata value that
// is not JSON, a tensor renamed, dropped or reshaped, or generic byte damage of the whole file.

import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { mutateBytes, type Mutated, type Rng } from './mutate.js';

export interface ModelSample {
  name: string;
  bytes: Uint8Array;
}

const VALUES: unknown[] = [
  null, undefined, -1, 0, 1, 2, 3, 0.5, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, 1e-12, 'x', '', [], {}, true, false, [1e9, 1e9], [-8, 8],
  { kind: 'none' }, { kind: 'clip', aMin: 1, aMax: 0 },
];

/** Every path to a value inside `v` (objects and arrays walked), the root included. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

/** Sets (or deletes, for undefined) the value at `path` inside `root`; returns the new root. */
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root) as Record<string | number, unknown>;
  const key = path[path.length - 1];
  if (value === undefined) delete parent[key];
  else parent[key] = value;
  return root;
}

export function mutateModel(rng: Rng, samples: readonly ModelSample[]): { sample: ModelSample } & Mutated {
  const sample = rng.pick(samples);
  const m = ((): Mutated => {
    const choice = rng.int(10);
    if (choice >= 8) return mutateBytes(rng, sample.bytes, 8 + 4096);
    const file = parseSafetensors(sample.bytes, sample.name);
    const metadata = { ...file.metadata };
    const tensors = [...file.tensors].map(([name, t]): [string, { shape: number[]; data: Float32Array }] => [name, { shape: t.shape, data: t.data }]);
    let what: string;
    if (choice < 6) {
      const key = rng.pick(Object.keys(metadata));
      let parsed: unknown;
      try {
        parsed = JSON.parse(metadata[key]);
      } catch {
        parsed = metadata[key]; // format / version / kind are plain strings
      }
      const path = rng.pick(paths(parsed));
      const value = rng.pick(VALUES);
      const edited = setAt(structuredClone(parsed), path, value);
      if (edited === undefined) delete metadata[key];
      else metadata[key] = typeof parsed === 'string' && path.length === 0 && typeof value === 'string' ? value : JSON.stringify(edited);
      what = `__metadata__.${[key, ...path].join('.')} = ${value === undefined ? '(deleted)' : JSON.stringify(value)}`;
    } else if (choice === 6) {
      const key = rng.pick(Object.keys(metadata));
      metadata[key] = rng.pick(['{', '', 'null', '[]', '{"a":'.repeat(5000)]).slice(0, 100_000);
      what = `__metadata__.${key} = ${JSON.stringify(metadata[key].slice(0, 20))}`;
    } else {
      const i = rng.int(tensors.length);
      const [name, t] = tensors[i];
      const op = rng.int(3);
      if (op === 0) tensors.splice(i, 1);
      else if (op === 1) tensors[i] = [`${name}.x`, t];
      else tensors[i] = [name, { shape: [t.data.length], data: t.data }];
      what = `tensor ${name}: ${['dropped', 'renamed', 'flattened'][op]}`;
    }
    return { bytes: serializeSafetensors(tensors, metadata), what };
  })();
  return { sample, ...m };
}
