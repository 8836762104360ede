// The safetensors format (huggingface/safetensors), read and written in plain TypeScript with no
// Node or GPU dependency, so it also runs in a browser. File access lives in safetensors-node.ts.
//
// Layout: a little-endian u64 N, then N bytes of UTF-8 JSON (an object, so it starts with '{',
// right-padded with spaces), then the data buffer. The header maps each tensor name to
// { "dtype", "shape", "data_offsets": [begin, end] } (bytes, relative to the buffer start; data is
// little-endian, C order) and may hold "__metadata__", an object of strings. The tensors must tile
// the buffer exactly: no overlaps, no holes, and the last one ends at the end of the file.
//
// Reading converts every supported dtype to f32; writing writes F32, and I64 for integer tensors
// given as a BigInt64Array (PyTorch's index buffers and counters).

import { halfToFloat } from './float16.js';

/** Bits per element of every dtype the format defines. */
const DTYPE_BITS = {
  BOOL: 8, U8: 8, I8: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, F64: 64, I64: 64,
  U64: 64, C64: 64, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F6_E2M3: 6, F6_E3M2: 6, F4: 4,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BITS;

/** The largest header the reference implementation accepts. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Bounds checked on the header text before JSON.parse sees it: a header nests three levels
 * (header → tensor → shape), so 64 is generous; and 100,000 tensors is far beyond any model
 * (a ViT-B has about 200, a large language-model shard a few thousand), while a million empty
 * ones would take seconds and a gigabyte to parse.
 */
export const MAX_NESTING = 64;
export const MAX_TENSORS = 100_000;

export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In file order (ascending data offsets). */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** Where the data buffer starts in the file: 8 + N. */
  dataStart: number;
}

export interface SafetensorsTensor {
  /** The dtype stored in the file; `data` always holds the values converted to f32. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** In file order (ascending data offsets). */
  tensors: Map<string, SafetensorsTensor>;
}

function fail(fileName: string, problem: string): Error {
  return new Error(`${fileName}: ${problem}`);
}

const quote = (name: string): string => JSON.stringify(name);

/** A value for an error message: JSON, cut to 100 characters (the header's depth is bounded first). */
function brief(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 100 ? `${s.slice(0, 100)}… (${s.length} characters)` : s;
}

/**
 * Checks nesting depth and tensor count on the raw text, before JSON.parse builds anything: one
 * pass, skipping strings, robust to text that is not JSON at all (JSON.parse reports that next).
 */
function checkHeaderBounds(text: string, fileName: string): void {
  let depth = 0;
  let entries = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // '"': skip the string
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) { // '{' '['
      if (++depth > MAX_NESTING) throw fail(fileName, `the header nests objects/arrays more than ${MAX_NESTING} levels deep`);
    } else if (c === 0x7d || c === 0x5d) { // '}' ']'
      depth--;
    } else if (c === 0x2c && depth === 1 && ++entries > MAX_TENSORS + 1) { // ',' between top-level entries
      throw fail(fileName, `the header lists more than ${MAX_TENSORS} tensors, the most a file may hold here`);
    }
  }
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const isNonNegativeInteger = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Checks the 8-byte length prefix against the limit and the file size and returns the header
 * length N. `bytes` needs only the first 8 bytes of the file; `fileSize` is the whole file's.
 */
export function readHeaderLength(bytes: Uint8Array, fileName: string, fileSize = bytes.length): number {
  if (fileSize < 8) throw fail(fileName, `the file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw fail(fileName, `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (8 + Number(n) > fileSize) {
    throw fail(fileName, `header length ${n} runs past the end of the file (${fileSize} bytes)`);
  }
  return Number(n);
}

/**
 * Parses and validates the header without touching the tensor data. `bytes` needs only the
 * first 8 + N bytes of the file (what `inspect` reads); `fileSize` is the whole file's.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileName: string, fileSize = bytes.length): SafetensorsHeader {
  const n = readHeaderLength(bytes, fileName, fileSize);
  const headerBytes = bytes.subarray(8, 8 + n);
  if (headerBytes[0] !== 0x7b) {
    throw fail(fileName, n === 0
      ? 'the header is empty; it must be a JSON object'
      : `the header must be a JSON object starting with '{', but it starts with ${describeByte(headerBytes[0])}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail(fileName, 'the header is not valid UTF-8');
  }
  checkHeaderBounds(text, fileName);
  let json: Record<string, unknown>;
  try {
    // Valid JSON that starts with '{' is an object.
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw fail(fileName, `the header is not valid JSON (${(error as Error).message})`);
  }
  checkDuplicateKeys(text, fileName);

  const bufferLength = fileSize - 8 - n;
  const tensors: [string, SafetensorsTensorInfo][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name !== '__metadata__') tensors.push([name, parseTensorInfo(name, value, bufferLength, fileName)]);
  }
  checkTiling(tensors, bufferLength, fileName);
  return { metadata: parseMetadata(json.__metadata__, fileName), tensors: new Map(tensors), dataStart: 8 + n };
}

function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}' (${hex})` : hex;
}

/**
 * JSON.parse silently keeps the last of repeated keys, but the format forbids them: scan the
 * (already validated) JSON text and check that no object repeats a key.
 */
function checkDuplicateKeys(text: string, fileName: string): void {
  // One frame per open object or array: the keys seen so far (null for arrays) and where it is.
  const stack: { keys: Set<string> | null; where: string }[] = [];
  let expectKey = false;
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (!expectKey) continue; // a string value
      const raw = text.slice(start + 1, i);
      const key = raw.includes('\\') ? JSON.parse(`"${raw}"`) as string : raw; // resolves escapes: "\u0061" is "a"
      const frame = stack[stack.length - 1];
      if (frame.keys!.has(key)) throw fail(fileName, `duplicate key ${quote(key)} in ${frame.where}`);
      frame.keys!.add(key);
      lastKey = key;
      expectKey = false;
    } else if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, where: stack.length === 0 ? 'the header' : quote(lastKey) });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1].keys !== null;
    }
  }
}

function parseMetadata(value: unknown, fileName: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(fileName, `__metadata__ must be an object of strings, got ${brief(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(fileName, `__metadata__ value ${quote(key)} must be a string, got ${brief(v)}`);
  }
  return value as Record<string, string>;
}

function parseTensorInfo(name: string, value: unknown, bufferLength: number, fileName: string): SafetensorsTensorInfo {
  // Built only for an error: a header may list 100,000 tensors.
  const fail = (problem: string): Error => new Error(`${fileName}: tensor ${quote(name)}: ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(`expected an object with dtype, shape and data_offsets, got ${brief(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (dtype === undefined) throw fail(`missing "dtype"`);
  if (shape === undefined) throw fail(`missing "shape"`);
  if (offsets === undefined) throw fail(`missing "data_offsets"`);
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BITS, dtype)) {
    throw fail(`unknown dtype ${brief(dtype)}`);
  }
  if (!Array.isArray(shape)) throw fail(`shape must be an array, got ${brief(shape)}`);
  shape.forEach((d, i) => {
    if (!isNonNegativeInteger(d)) {
      throw fail(
        `shape ${brief(shape)} has dimension ${i} = ${brief(d)}; dimensions must be non-negative integers`);
    }
  });
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw fail(`data_offsets must be two non-negative integers [begin, end], got ${brief(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > bufferLength) {
    throw fail(`data_offsets [${begin}, ${end}] run past the end of the data buffer (${bufferLength} bytes)`);
  }
  const bits = numel(shape) * DTYPE_BITS[dtype as SafetensorsDtype];
  if (bits !== 8 * (end - begin)) {
    throw fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ${brief(shape)} of ${dtype} needs ${bits / 8}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape, dataOffsets: [begin, end] };
}

/** Sorts `tensors` by offsets and checks that they tile the data buffer exactly. */
function checkTiling(tensors: [string, SafetensorsTensorInfo][], bufferLength: number, fileName: string): void {
  tensors.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous = '';
  for (const [name, { dataOffsets: [begin, end] }] of tensors) {
    if (begin < cursor) {
      throw fail(fileName,
        `tensor ${quote(name)} at data_offsets [${begin}, ${end}] overlaps tensor ${quote(previous)}, which ends at ${cursor}`);
    }
    if (begin > cursor) {
      throw fail(fileName, `hole in the data buffer: bytes [${cursor}, ${begin}) before tensor ${quote(name)} belong to no tensor`);
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== bufferLength) {
    throw fail(fileName, 'the data buffer does not end at the end of the file: ' +
      `the tensors cover ${cursor} bytes, the buffer holds ${bufferLength} (${bufferLength - cursor} trailing bytes)`);
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const bitsScratch = new Uint32Array(1);
const floatScratch = new Float32Array(bitsScratch.buffer);

/** The f32 whose bit pattern is `bits`. */
function floatFromBits(bits: number): number {
  bitsScratch[0] = bits;
  return floatScratch[0];
}

/**
 * Reads element number `i` as a number; storing it into a Float32Array then rounds to the nearest
 * f32 (ties to even). So F16 and BF16 (the top 16 bits of an f32) are exact, F64 is rounded,
 * integers are exact up to 2^24 in magnitude and rounded beyond, I64/U64 go through BigInt →
 * Number (exact up to 2^53) before that rounding, and BOOL is 1 for any nonzero byte.
 */
const READERS: Partial<Record<SafetensorsDtype, (view: DataView, i: number) => number>> = {
  BOOL: (v, i) => (v.getUint8(i) === 0 ? 0 : 1),
  U8: (v, i) => v.getUint8(i),
  I8: (v, i) => v.getInt8(i),
  U16: (v, i) => v.getUint16(2 * i, true),
  I16: (v, i) => v.getInt16(2 * i, true),
  F16: (v, i) => halfToFloat(v.getUint16(2 * i, true)),
  BF16: (v, i) => floatFromBits(v.getUint16(2 * i, true) << 16),
  U32: (v, i) => v.getUint32(4 * i, true),
  I32: (v, i) => v.getInt32(4 * i, true),
  F32: (v, i) => v.getFloat32(4 * i, true),
  F64: (v, i) => v.getFloat64(8 * i, true),
  U64: (v, i) => Number(v.getBigUint64(8 * i, true)),
  I64: (v, i) => Number(v.getBigInt64(8 * i, true)),
};

function decodeToF32(raw: Uint8Array, dtype: SafetensorsDtype, where: () => string): Float32Array {
  const read = READERS[dtype];
  if (!read) throw new Error(`${where()} has dtype ${dtype}, which cannot be read (complex and 8/6/4-bit float dtypes are not supported)`);
  const count = (8 * raw.byteLength) / DTYPE_BITS[dtype];
  // Aligned little-endian F32: one copy straight out of the file's bytes.
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST && raw.byteOffset % 4 === 0) {
    return new Float32Array(raw.buffer, raw.byteOffset, count).slice();
  }
  // Everything else, misaligned data included: element by element through a DataView.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i);
  return out;
}

/**
 * Parses a whole safetensors file and converts every tensor to f32 (see READERS for the rules).
 * Throws an Error naming `fileName` and the problem for malformed files, and naming the tensor for
 * dtypes that cannot be read (C64, FP8/FP6/FP4). Each tensor's data is its own new array; `bytes`
 * is not kept.
 */
export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, fileName);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, { dtype, shape, dataOffsets: [begin, end] }] of header.tensors) {
    const raw = bytes.subarray(header.dataStart + begin, header.dataStart + end);
    tensors.set(name, { dtype, shape, data: decodeToF32(raw, dtype, () => `${fileName}: tensor ${quote(name)}`) });
  }
  return { metadata: header.metadata, tensors };
}

export interface TensorToWrite {
  shape: readonly number[];
  /** F32 values, or I64 ones. */
  data: Float32Array | BigInt64Array;
}

export type TensorsToWrite = ReadonlyMap<string, TensorToWrite> | ReadonlyArray<readonly [string, TensorToWrite]>;

export interface SafetensorsLayout {
  /** The 8-byte header length followed by the header, padded with spaces to a multiple of 8. */
  prefix: Uint8Array;
  /** The tensors in file order (I64 before F32, then by name); their data follows the prefix back to back. */
  tensors: [string, TensorToWrite][];
  fileSize: number;
}

/**
 * Validates the tensors and builds the header of the file. The header is padded to a multiple of
 * 8 bytes and the tensors sorted as the reference writer does: by dtype size, largest first (I64
 * before F32), then by name (UTF-16 code-unit order); so every tensor starts aligned to its dtype.
 */
export function layoutSafetensors(tensors: TensorsToWrite, metadata: Readonly<Record<string, string>> = {}): SafetensorsLayout {
  const sorted = [...tensors].map(([name, t]): [string, TensorToWrite] => [name, t]);
  sorted.sort(([a, ta], [b, tb]) => tb.data.BYTES_PER_ELEMENT - ta.data.BYTES_PER_ELEMENT || (a < b ? -1 : a > b ? 1 : 0));
  const fields: string[] = [];
  const metadataKeys = Object.keys(metadata).sort();
  if (metadataKeys.length > 0) {
    const entries = metadataKeys.map((key) => {
      if (typeof metadata[key] !== 'string') {
        throw new Error(`serializeSafetensors: metadata value ${quote(key)} must be a string, got ${JSON.stringify(metadata[key])}`);
      }
      return `${quote(key)}:${quote(metadata[key])}`;
    });
    fields.push(`"__metadata__":{${entries.join(',')}}`);
  }
  let offset = 0;
  sorted.forEach(([name, { shape, data }], i) => {
    const where = `serializeSafetensors: tensor ${quote(name)}`;
    if (name === '__metadata__') throw new Error(`${where}: the name is reserved for the metadata`);
    if (i > 0 && sorted[i - 1][0] === name) throw new Error(`${where}: the name appears twice`);
    if (!shape.every((d) => isNonNegativeInteger(d))) {
      throw new Error(`${where}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
    if (data.length !== numel(shape)) {
      throw new Error(`${where}: data has ${data.length} values, but shape [${shape.join(', ')}] needs ${numel(shape)}`);
    }
    const dtype = data instanceof BigInt64Array ? 'I64' : 'F32';
    fields.push(`${quote(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${offset + data.byteLength}]}`);
    offset += data.byteLength;
  });
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const prefix = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
  prefix.set(json, 8);
  return { prefix, tensors: sorted, fileSize: prefix.length + offset };
}

/** The little-endian bytes of `data`: a view of it on little-endian hosts, a copy otherwise. */
export function tensorBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  if (data instanceof BigInt64Array) data.forEach((x, i) => view.setBigInt64(8 * i, x, true));
  else data.forEach((x, i) => view.setFloat32(4 * i, x, true));
  return bytes;
}

/** Writes the tensors as one safetensors file in memory (layout: see layoutSafetensors). */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const layout = layoutSafetensors(tensors, metadata);
  const out = new Uint8Array(layout.fileSize);
  out.set(layout.prefix);
  let position = layout.prefix.length;
  for (const [, { data }] of layout.tensors) {
    out.set(tensorBytes(data), position);
    position += data.byteLength;
  }
  return out;
}
