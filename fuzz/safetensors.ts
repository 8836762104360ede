// safetensors mutations for the fuzz suite: the length prefix set to boundary values, header JSON
// edited at the field level (dtype, shape, data_offsets, metadata set to boundary values, keys
// removed or repeated), deep nesting, huge tensor counts, and generic byte damage.

import { BOUNDARY_INTS, mutateBytes, type Mutated, type Rng } from './mutate.js';

export interface SafetensorsSample {
  name: string;
  bytes: Uint8Array;
}

const HEADER_VALUES: unknown[] = [
  null, -1, 0, 1, 0.5, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -1e308, '1', '', [], {}, true, [0], [-1, 4], [4, 0], [0, 2 ** 60],
  'F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F64', 'C64', 'F8_E4M3', 'F4', 'f32',
];

/** The header JSON of a file (valid in the samples), and where its data starts. */
function splitFile(bytes: Uint8Array): { json: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return { json, data: bytes.subarray(8 + n) };
}

/** Length prefix, header text (padded to 8 like the reference writer) and data. */
export function joinFile(headerText: string, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(headerText);
  const padded = Math.ceil(text.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8 + text.length, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  out.set(data, 8 + padded);
  return out;
}

/** Sets a random leaf (or whole entry) of one tensor's description, or of the metadata. */
function mutateEntry(rng: Rng, json: Record<string, unknown>): string {
  const names = Object.keys(json);
  if (names.length === 0) {
    json.x = rng.pick(HEADER_VALUES);
    return 'add entry x';
  }
  const name = rng.pick(names);
  const entry = json[name];
  const value = rng.pick(HEADER_VALUES);
  if (typeof entry !== 'object' || entry === null || rng.chance(0.1)) {
    json[name] = value;
    return `${name} = ${JSON.stringify(value)}`;
  }
  const e = entry as Record<string, unknown>;
  const keys = Object.keys(e);
  const key = rng.pick(keys.length ? keys : ['x']);
  if (rng.chance(0.15)) {
    delete e[key];
    return `delete ${name}.${key}`;
  }
  if (Array.isArray(e[key]) && (e[key] as unknown[]).length > 0 && rng.chance(0.6)) {
    const arr = e[key] as unknown[];
    const i = rng.int(arr.length);
    arr[i] = rng.chance(0.7) ? rng.pick([...BOUNDARY_INTS, 2 ** 53, 1e308, -1, 0.5]) : value;
    return `${name}.${key}[${i}] = ${JSON.stringify(arr[i])}`;
  }
  e[key] = value;
  return `${name}.${key} = ${JSON.stringify(value)}`;
}

export function mutateSafetensors(rng: Rng, samples: readonly SafetensorsSample[]): { sample: SafetensorsSample } & Mutated {
  const sample = rng.pick(samples);
  const bytes = sample.bytes;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const m = ((): Mutated => {
    switch (rng.int(6)) {
      case 0: {
        const out = bytes.slice();
        const value = rng.pick([0n, 1n, 2n, BigInt(n - 1), BigInt(n + 1), BigInt(out.length), 100_000_001n, 2n ** 53n, 2n ** 64n - 1n]);
        new DataView(out.buffer).setBigUint64(0, value, true);
        return { bytes: out, what: `header length = ${value}` };
      }
      case 1: case 2: {
        const { json, data } = splitFile(bytes);
        const what = mutateEntry(rng, json);
        return { bytes: joinFile(JSON.stringify(json), data), what };
      }
      case 3: {
        // Nesting: a tensor's value, or the metadata, replaced by brackets nested d deep.
        const { json, data } = splitFile(bytes);
        const depth = rng.pick([10, 63, 64, 65, 1000, 10_000, 100_000]);
        const key = rng.chance(0.5) ? '__metadata__' : rng.pick(Object.keys(json).concat('x'));
        const open = rng.chance(0.5) ? '[' : '{"a":';
        const close = open === '[' ? ']' : '}';
        const text = JSON.stringify({ ...json, [key]: 0 }).replace(`${JSON.stringify(key)}:0`, `${JSON.stringify(key)}:${open.repeat(depth)}${open === '[' ? '' : '1'}${close.repeat(depth)}`);
        return { bytes: joinFile(text, data), what: `${key} nested ${depth} deep` };
      }
      case 4: {
        // Many tensors: k empty ones added (valid when k is under the limit).
        const { json, data } = splitFile(bytes);
        const k = rng.pick([10, 1000, 100_001, 1_000_000]);
        const extra = Array.from({ length: k }, (_, i) => `"e${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',');
        const text = JSON.stringify(json).replace(/^\{/, `{${extra}${Object.keys(json).length ? ',' : ''}`);
        return { bytes: joinFile(text, data), what: `${k} empty tensors added` };
      }
      default:
        return mutateBytes(rng, bytes, 8 + n);
    }
  })();
  return { sample, ...m };
}
