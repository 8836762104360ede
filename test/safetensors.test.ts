import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { halfToFloat } from '../src/io/float16.js';
import {
  parseSafetensors, parseSafetensorsHeader, serializeSafetensors, type TensorToWrite,
} from '../src/io/safetensors.js';
import { readSafetensorsFile, readSafetensorsHeader, writeSafetensorsFile } from '../src/io/safetensors-node.js';
import { expectClose } from './helpers/check.js';
import { randn } from './helpers/random.js';

// Decoding is exact: every expected value below is the f32 the stored value rounds to.
const EXACT = { atol: 0, rtol: 0 };
const FILE = 'test.safetensors';

interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Little-endian bytes written through a DataView of `size` bytes. */
function bytesOf(size: number, write: (view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(size);
  write(new DataView(bytes.buffer));
  return bytes;
}

/** A file as a foreign writer might lay it out: tensors in the given order, no header padding. */
function buildFile(tensors: RawTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const data = new Uint8Array(offset);
  offset = 0;
  for (const t of tensors) {
    data.set(t.bytes, offset);
    offset += t.bytes.length;
  }
  return rawFile(JSON.stringify(header), data);
}

/** The length prefix (N = the header's byte length unless given), the header text and the data. */
function rawFile(header: string | Uint8Array, data: ArrayLike<number> = [], headerLength?: number | bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function decoded(bytes: Uint8Array, name: string): Float32Array {
  const tensor = parseSafetensors(bytes, FILE).tensors.get(name);
  expect(tensor, `tensor ${name}`).toBeDefined();
  return tensor!.data;
}

describe('halfToFloat', () => {
  it('decodes hand-computed values: normals, 65504, subnormals, zeros, infinities, NaN', () => {
    const cases: [number, number][] = [
      [0x3c00, 1], [0xc000, -2], [0x3555, 1365 / 4096], [0x7bff, 65504],
      [0x0001, 5.960464477539063e-8], // 2⁻²⁴, the smallest subnormal
      [0x03ff, 6.097555160522461e-5], // 1023 · 2⁻²⁴, the largest subnormal
      [0x0400, 6.103515625e-5], // 2⁻¹⁴, the smallest normal
      [0x0000, 0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0xfc01, NaN],
    ];
    expectClose(cases.map(([h]) => halfToFloat(h)), cases.map(([, v]) => v), EXACT, 'safetensors', 'F16 decode');
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });

  it('matches the f32 bit pattern of every normal half (exponent rebiased 15 → 127)', () => {
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let h = 0; h < 0x10000; h++) {
      const exponent = (h >> 10) & 0x1f;
      if (exponent === 0 || exponent === 0x1f) continue;
      bits[0] = ((h & 0x8000) << 16) | ((exponent - 15 + 127) << 23) | ((h & 0x3ff) << 13);
      if (halfToFloat(h) !== asFloat[0]) throw new Error(`half 0x${h.toString(16)}: ${halfToFloat(h)} ≠ ${asFloat[0]}`);
    }
  });
});

describe('safetensors: decoding every dtype to f32', () => {
  // Odd sizes first, so most tensors after them start misaligned in the buffer.
  const tensors: [RawTensor, number[]][] = [
    [{ name: 'bool', dtype: 'BOOL', shape: [5], bytes: Uint8Array.from([0, 1, 2, 255, 0]) }, [0, 1, 1, 1, 0]],
    [{ name: 'u8', dtype: 'U8', shape: [3], bytes: Uint8Array.from([0, 255, 7]) }, [0, 255, 7]],
    [{ name: 'i8', dtype: 'I8', shape: [3], bytes: Uint8Array.from([0x80, 0x7f, 0xff]) }, [-128, 127, -1]],
    [{ name: 'i16', dtype: 'I16', shape: [3], bytes: bytesOf(6, (v) => [-32768, 32767, -2].forEach((x, i) => v.setInt16(2 * i, x, true))) },
      [-32768, 32767, -2]],
    [{ name: 'u16', dtype: 'U16', shape: [2], bytes: bytesOf(4, (v) => [65535, 1].forEach((x, i) => v.setUint16(2 * i, x, true))) },
      [65535, 1]],
    [{ name: 'f16', dtype: 'F16', shape: [7],
      bytes: bytesOf(14, (v) => [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00].forEach((x, i) => v.setUint16(2 * i, x, true))) },
    [1, -2, 65504, 5.960464477539063e-8, Infinity, -Infinity, NaN]],
    // BF16 is the top half of an f32: 0x4049 → 0x40490000 = 3.140625; 0x0001 → 2⁻¹³³; 0x7f7f → 255 · 2¹²⁰.
    [{ name: 'bf16', dtype: 'BF16', shape: [7],
      bytes: bytesOf(14, (v) => [0x3f80, 0xc040, 0x4049, 0x0001, 0x7f7f, 0xff80, 0x7fc0].forEach((x, i) => v.setUint16(2 * i, x, true))) },
    [1, -3, 3.140625, 2 ** -133, 255 * 2 ** 120, -Infinity, NaN]],
    // I32 beyond 2²⁴ rounds to the nearest f32: 2³¹−1 → 2³¹, 2²⁴+1 → 2²⁴ (tie to even).
    [{ name: 'i32', dtype: 'I32', shape: [4],
      bytes: bytesOf(16, (v) => [-2147483648, 2147483647, 16777217, -7].forEach((x, i) => v.setInt32(4 * i, x, true))) },
    [-2147483648, 2147483648, 16777216, -7]],
    [{ name: 'u32', dtype: 'U32', shape: [2], bytes: bytesOf(8, (v) => [4294967295, 3].forEach((x, i) => v.setUint32(4 * i, x, true))) },
      [4294967296, 3]],
    [{ name: 'f32', dtype: 'F32', shape: [3], bytes: bytesOf(12, (v) => [0.5, -1.25, 3e38].forEach((x, i) => v.setFloat32(4 * i, x, true))) },
      [0.5, -1.25, Math.fround(3e38)]],
    // F64 rounds to the nearest f32: 1/3 → 0.3333333432674408, 0.1 → 0.10000000149011612, overflow → −∞.
    [{ name: 'f64', dtype: 'F64', shape: [5],
      bytes: bytesOf(40, (v) => [1 / 3, 0.1, -1e300, 1e-50, 2 ** -149].forEach((x, i) => v.setFloat64(8 * i, x, true))) },
    [0.3333333432674408, 0.10000000149011612, -Infinity, 0, 2 ** -149]],
    // I64: negatives; 2⁵³+1 is not a double and becomes 2⁵³ (then exact in f32); −2⁶³ is exact.
    [{ name: 'i64', dtype: 'I64', shape: [4],
      bytes: bytesOf(32, (v) => [-1n, -5n, 9007199254740993n, -(2n ** 63n)].forEach((x, i) => v.setBigInt64(8 * i, x, true))) },
    [-1, -5, 9007199254740992, -(2 ** 63)]],
    [{ name: 'u64', dtype: 'U64', shape: [2], bytes: bytesOf(16, (v) => [2n ** 64n - 1n, 42n].forEach((x, i) => v.setBigUint64(8 * i, x, true))) },
      [2 ** 64, 42]],
  ];
  const file = buildFile(tensors.map(([t]) => t));

  for (const [raw, expected] of tensors) {
    it(`${raw.dtype}: ${raw.shape[0]} hand-computed values`, () => {
      const t = parseSafetensors(file, FILE).tensors.get(raw.name)!;
      expect(t.dtype).toBe(raw.dtype);
      expect(t.shape).toEqual(raw.shape);
      expectClose(t.data, expected, EXACT, 'safetensors', `${raw.dtype} decode`);
    });
  }

  it('keeps the file order (ascending offsets) and the metadata', () => {
    const withMetadata = buildFile(tensors.map(([t]) => t), { format: 'pt', note: 'a "quoted", {braces} [and] commas' });
    const parsed = parseSafetensors(withMetadata, FILE);
    expect([...parsed.tensors.keys()]).toEqual(tensors.map(([t]) => t.name));
    expect(parsed.metadata).toEqual({ format: 'pt', note: 'a "quoted", {braces} [and] commas' });
  });

  for (const [dtype, shape, size] of [
    ['C64', [2], 16], ['F8_E4M3', [3], 3], ['F8_E5M2', [3], 3], ['F8_E8M0', [1], 1], ['F6_E2M3', [4], 3], ['F6_E3M2', [4], 3], ['F4', [2], 1],
  ] as const) {
    it(`rejects ${dtype} naming the tensor, while the header alone still parses`, () => {
      const bytes = buildFile([{ name: 'z', dtype, shape: [...shape], bytes: new Uint8Array(size) }]);
      expect(parseSafetensorsHeader(bytes, FILE).tensors.get('z')).toEqual({ dtype, shape, dataOffsets: [0, size] });
      expect(() => parseSafetensors(bytes, FILE)).toThrow(
        `${FILE}: tensor "z" has dtype ${dtype}, which cannot be read (complex and 8/6/4-bit float dtypes are not supported)`);
    });
  }
});

describe('safetensors: scalars, zero-size tensors, misaligned data', () => {
  it('reads scalars (shape []) and zero-size tensors', () => {
    const bytes = buildFile([
      { name: 'empty', dtype: 'F32', shape: [0], bytes: new Uint8Array(0) },
      { name: 'scalar', dtype: 'F32', shape: [], bytes: bytesOf(4, (v) => v.setFloat32(0, -7.5, true)) },
      { name: 'empty3d', dtype: 'I64', shape: [2, 0, 3], bytes: new Uint8Array(0) },
      { name: 'half', dtype: 'F16', shape: [], bytes: bytesOf(2, (v) => v.setUint16(0, 0xc000, true)) },
    ]);
    const { tensors } = parseSafetensors(bytes, FILE);
    expect(tensors.get('scalar')).toEqual({ dtype: 'F32', shape: [], data: Float32Array.from([-7.5]) });
    expect(tensors.get('half')).toEqual({ dtype: 'F16', shape: [], data: Float32Array.from([-2]) });
    expect(tensors.get('empty')).toEqual({ dtype: 'F32', shape: [0], data: new Float32Array(0) });
    expect(tensors.get('empty3d')).toEqual({ dtype: 'I64', shape: [2, 0, 3], data: new Float32Array(0) });
  });

  const values = randn(7, 3);
  const f32 = bytesOf(28, (v) => values.forEach((x, i) => v.setFloat32(4 * i, x, true)));
  const i64 = bytesOf(16, (v) => [-3n, 1n].forEach((x, i) => v.setBigInt64(8 * i, x, true)));

  it('copies F32 and I64 data that follows a 3-byte tensor (offsets not multiples of the item size)', () => {
    const bytes = buildFile([
      { name: 'pad', dtype: 'U8', shape: [3], bytes: Uint8Array.from([1, 2, 3]) },
      { name: 'w', dtype: 'F32', shape: [7], bytes: f32 },
      { name: 'n', dtype: 'I64', shape: [2], bytes: i64 },
    ]);
    expect((parseSafetensorsHeader(bytes, FILE).dataStart + 3) % 4).not.toBe(0);
    expectClose(decoded(bytes, 'w'), values, EXACT, 'safetensors', 'misaligned F32');
    expectClose(decoded(bytes, 'n'), [-3, 1], EXACT, 'safetensors', 'misaligned I64');
  });

  it('copies data behind an unpadded header, and inside views of a larger buffer', () => {
    const header = '{"w":{"dtype":"F32","shape":[7],"data_offsets":[0,28]}}'; // 55 bytes: data starts at 63
    const bytes = rawFile(header, f32);
    expectClose(decoded(bytes, 'w'), values, EXACT, 'safetensors', 'misaligned F32');
    // Viewed from byte 1 of a larger buffer the data is aligned again (64); from byte 2 it is not.
    for (const start of [1, 2]) {
      const big = new Uint8Array(bytes.length + start);
      big.set(bytes, start);
      expectClose(decoded(big.subarray(start), 'w'), values, EXACT, 'safetensors', start === 1 ? 'F32 in a view' : 'misaligned F32');
    }
  });

  it('returns arrays of their own, not views of the file', () => {
    const bytes = serializeSafetensors(new Map([['w', { shape: [7], data: values }]]));
    const data = decoded(bytes, 'w');
    expect(data.buffer).not.toBe(bytes.buffer);
    expect(data.byteLength).toBe(data.buffer.byteLength);
  });
});

describe('safetensors: writing', () => {
  const awkward: [string, TensorToWrite][] = [
    ['z.weight', { shape: [3, 5], data: randn(15, 11) }],
    ['10', { shape: [1, 1, 7], data: randn(17, 12).subarray(10) }], // a view at a nonzero byte offset
    ['2', { shape: [], data: Float32Array.from([-0]) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ['straße "quoted" \\ name', { shape: [2], data: Float32Array.from([NaN, -Infinity]) }],
  ];

  it('round-trips names, shapes, bits (−0, NaN, −∞) and metadata', () => {
    const metadata = { format: 'pt', note: 'a "quoted", {braces} [and] commas' };
    const bytes = serializeSafetensors(new Map(awkward), metadata);
    const parsed = parseSafetensors(bytes, FILE);
    expect(parsed.metadata).toEqual(metadata);
    expect([...parsed.tensors.keys()]).toEqual(awkward.map(([name]) => name).sort());
    for (const [name, { shape, data }] of awkward) {
      const t = parsed.tensors.get(name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(shape);
      expect(new Uint32Array(t.data.slice().buffer)).toEqual(new Uint32Array(data.slice().buffer));
      expectClose(t.data, data as Float32Array, EXACT, 'safetensors', 'F32 round trip');
    }
  });

  it('writes I64 tensors (BigInt64Array) first, 8-byte aligned, as the reference writer orders dtypes', () => {
    const bytes = serializeSafetensors([
      ['a', { shape: [1], data: Float32Array.from([1.5]) }],
      ['z.index', { shape: [2], data: BigInt64Array.from([3n, -(2n ** 40n)]) }],
    ]);
    const header = parseSafetensorsHeader(bytes, FILE);
    expect([...header.tensors].map(([name, t]) => [name, t.dtype, t.dataOffsets])).toEqual([['z.index', 'I64', [0, 16]], ['a', 'F32', [16, 20]]]);
    expect(header.dataStart % 8).toBe(0);
    expect(parseSafetensors(bytes, FILE).tensors.get('z.index')!.data).toEqual(Float32Array.from([3, -(2 ** 40)]));
  });

  it('writes the reference layout: metadata first, sorted names, contiguous offsets, header padded with spaces to 8 bytes', () => {
    const bytes = serializeSafetensors(
      [['b', { shape: [1], data: Float32Array.from([2]) }], ['a', { shape: [2], data: Float32Array.from([1, 0.5]) }]],
      { format: 'pt' },
    );
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}'; // 139 bytes → padded to 144
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n).toBe(144);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n))).toBe(json + '     ');
    expect([...new Float32Array(bytes.slice(8 + n).buffer)]).toEqual([1, 0.5, 2]);
    expect(bytes.length).toBe(8 + n + 12);
  });

  it('omits empty metadata', () => {
    const bytes = serializeSafetensors([['x', { shape: [], data: Float32Array.from([1]) }]]);
    const json = '{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}'; // 53 bytes → padded to 56
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(56);
    expect(new TextDecoder().decode(bytes.subarray(8, 64))).toBe(json + '   ');
  });

  it('accepts a Map or an array of entries, with the same bytes', () => {
    expect(serializeSafetensors(awkward)).toEqual(serializeSafetensors(new Map(awkward)));
  });

  const bad: [string, [string, TensorToWrite][], Record<string, string> | undefined, string][] = [
    ['a name twice', [['w', { shape: [1], data: new Float32Array(1) }], ['w', { shape: [1], data: new Float32Array(1) }]], undefined,
      'serializeSafetensors: tensor "w": the name appears twice'],
    ['the reserved name', [['__metadata__', { shape: [1], data: new Float32Array(1) }]], undefined,
      'serializeSafetensors: tensor "__metadata__": the name is reserved for the metadata'],
    ['data of the wrong length', [['w', { shape: [2, 3], data: new Float32Array(5) }]], undefined,
      'serializeSafetensors: tensor "w": data has 5 values, but shape [2, 3] needs 6'],
    ['a negative dimension', [['w', { shape: [2, -1], data: new Float32Array(0) }]], undefined,
      'serializeSafetensors: tensor "w": shape [2, -1] must hold non-negative integers'],
    ['a metadata value that is not a string', [], { epoch: 3 as unknown as string }, 'serializeSafetensors: metadata value "epoch" must be a string, got 3'],
  ];
  for (const [what, tensors, metadata, message] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => serializeSafetensors(tensors, metadata)).toThrow(message);
    });
  }
});

describe('safetensors: malformed files', () => {
  const f32Entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const withData = (header: object, dataBytes: number) => rawFile(JSON.stringify(header), new Uint8Array(dataBytes));

  const cases: [string, Uint8Array, string][] = [
    ['an empty file', new Uint8Array(0), 'the file is 0 bytes, shorter than the 8-byte header length'],
    ['a 5-byte file', new Uint8Array(5), 'the file is 5 bytes, shorter than the 8-byte header length'],
    ['a header length beyond the file', rawFile('{}', [], 100), 'header length 100 runs past the end of the file (10 bytes)'],
    ['a header length over 100,000,000', rawFile('{}', [], 100_000_001), 'header length 100000001 exceeds the limit of 100000000 bytes'],
    ['a header length of 2⁶⁴ − 1', rawFile('{}', [], 2n ** 64n - 1n), 'header length 18446744073709551615 exceeds the limit of 100000000 bytes'],
    ['an empty header', rawFile(''), 'the header is empty; it must be a JSON object'],
    ['a header that is an array', rawFile('[1, 2]'), "the header must be a JSON object starting with '{', but it starts with '[' (0x5b)"],
    ['a header starting with a space', rawFile(' {}'), "the header must be a JSON object starting with '{', but it starts with ' ' (0x20)"],
    ['a header that is invalid UTF-8', rawFile(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'the header is not valid UTF-8'],
    ['invalid JSON', rawFile('{"a": '), 'the header is not valid JSON ('],
    ['trailing garbage after the JSON', rawFile('{} x'), 'the header is not valid JSON ('],
    ['an entry that is not an object', rawFile('{"a": 5}'), 'tensor "a": expected an object with dtype, shape and data_offsets, got 5'],
    ['a missing dtype', withData({ a: { shape: [1], data_offsets: [0, 4] } }, 4), 'tensor "a": missing "dtype"'],
    ['a missing shape', withData({ a: { dtype: 'F32', data_offsets: [0, 4] } }, 4), 'tensor "a": missing "shape"'],
    ['missing data_offsets', withData({ a: { dtype: 'F32', shape: [1] } }, 4), 'tensor "a": missing "data_offsets"'],
    ['an unknown dtype', withData({ a: { ...f32Entry(0, 4), dtype: 'F33' } }, 4), 'tensor "a": unknown dtype "F33"'],
    ['a dtype that is not a string', withData({ a: { ...f32Entry(0, 4), dtype: 4 } }, 4), 'tensor "a": unknown dtype 4'],
    ['a shape that is not an array', withData({ a: f32Entry(0, 4, 1 as unknown as number[]) }, 4), 'tensor "a": shape must be an array, got 1'],
    ['a negative dimension', withData({ a: f32Entry(0, 4, [2, -1]) }, 4),
      'tensor "a": shape [2,-1] has dimension 1 = -1; dimensions must be non-negative integers'],
    ['a non-integer dimension', withData({ a: f32Entry(0, 4, [1.5]) }, 4),
      'tensor "a": shape [1.5] has dimension 0 = 1.5; dimensions must be non-negative integers'],
    ['a dimension given as a string', withData({ a: f32Entry(0, 4, ['1'] as unknown as number[]) }, 4),
      'tensor "a": shape ["1"] has dimension 0 = "1"; dimensions must be non-negative integers'],
    ['one data offset', withData({ a: { dtype: 'F32', shape: [1], data_offsets: [4] } }, 4),
      'tensor "a": data_offsets must be two non-negative integers [begin, end], got [4]'],
    ['a negative data offset', withData({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, 4),
      'tensor "a": data_offsets must be two non-negative integers [begin, end], got [-4,0]'],
    ['end before begin', withData({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, 8), 'tensor "a": data_offsets [8, 4] end before they begin'],
    ['offsets out of range', withData({ a: f32Entry(0, 16) }, 8), 'tensor "a": data_offsets [0, 16] run past the end of the data buffer (8 bytes)'],
    ['a size that does not match the shape', withData({ a: f32Entry(0, 8, [3]) }, 8),
      'tensor "a": data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 12'],
    ['overlapping tensors', withData({ a: f32Entry(0, 8), b: f32Entry(4, 12) }, 12),
      'tensor "b" at data_offsets [4, 12] overlaps tensor "a", which ends at 8'],
    ['a hole between tensors', withData({ a: f32Entry(0, 4), b: f32Entry(8, 12) }, 12),
      'hole in the data buffer: bytes [4, 8) before tensor "b" belong to no tensor'],
    ['a hole at the start', withData({ a: f32Entry(4, 8) }, 8), 'hole in the data buffer: bytes [0, 4) before tensor "a" belong to no tensor'],
    ['trailing bytes after the last tensor', withData({ a: f32Entry(0, 4) }, 8),
      'the data buffer does not end at the end of the file: the tensors cover 4 bytes, the buffer holds 8 (4 trailing bytes)'],
    ['a duplicate tensor name', rawFile(`{"a":${JSON.stringify(f32Entry(0, 4))},"a":${JSON.stringify(f32Entry(0, 4))}}`, new Uint8Array(4)),
      'duplicate key "a" in the header'],
    ['a duplicate name spelled with an escape', rawFile(`{"a":${JSON.stringify(f32Entry(0, 4))},"\\u0061":${JSON.stringify(f32Entry(0, 4))}}`, new Uint8Array(4)),
      'duplicate key "a" in the header'],
    ['a duplicate field in an entry', rawFile('{"a":{"dtype":"F32","shape":[1],"dtype":"F32","data_offsets":[0,4]}}', new Uint8Array(4)),
      'duplicate key "dtype" in "a"'],
    ['a duplicate metadata key', rawFile('{"__metadata__":{"k":"1","k":"2"}}'), 'duplicate key "k" in "__metadata__"'],
    ['a metadata value that is not a string', rawFile('{"__metadata__":{"k":"v","epoch":3}}'), '__metadata__ value "epoch" must be a string, got 3'],
    ['metadata that is not an object', rawFile('{"__metadata__":["k"]}'), '__metadata__ must be an object of strings, got ["k"]'],    // Issue 12: bounds checked on the text before JSON.parse, and error messages that cannot overflow.
    ['a tensor entry nested 10,000 levels deep', rawFile(`{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      'the header nests objects/arrays more than 64 levels deep'],
    ['metadata nested 100,000 levels deep', rawFile(`{"__metadata__":${'{"k":'.repeat(100_000)}1${'}'.repeat(100_000)}}`),
      'the header nests objects/arrays more than 64 levels deep'],
    ['unbalanced nesting that is not JSON', rawFile(`{${'['.repeat(65)}`), 'the header nests objects/arrays more than 64 levels deep'],
    ['brackets inside strings do not count as nesting', rawFile(`{"${'['.repeat(100)}": 5}`),
      `tensor "${'['.repeat(100)}": expected an object with dtype, shape and data_offsets, got 5`],
    ['1,000,000 empty tensors', rawFile(`{${Array.from({ length: 1_000_000 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',')}}`),
      'the header lists more than 100000 tensors, the most a file may hold here'],
    ['a huge value, cut in the message', rawFile(`{"a":"${'x'.repeat(1_000_000)}"}`),
      `tensor "a": expected an object with dtype, shape and data_offsets, got "${'x'.repeat(99)}… (1000002 characters)`],
  ];
  for (const [what, bytes, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(`bad.safetensors: ${message}`);
    });
  }

  it('accepts a file with no tensors, and keys repeated only across different objects', () => {
    expect(parseSafetensors(rawFile('{}'), FILE)).toEqual({ metadata: {}, tensors: new Map() });
    const bytes = withData({ __metadata__: { a: 'b' }, a: f32Entry(0, 4), b: f32Entry(4, 8) }, 8);
    expect([...parseSafetensors(bytes, FILE).tensors.keys()]).toEqual(['a', 'b']);
  });
});

describe('safetensors: files on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tensors = new Map([['b', { shape: [2, 3], data: randn(6, 5) }], ['a', { shape: [], data: Float32Array.from([4]) }]]);

  it('writes through a temporary file, reads back the same tensors, header alone included', async () => {
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, new Map([['old', { shape: [1], data: new Float32Array(1) }]]));
    await writeSafetensorsFile(path, tensors, { epoch: '3' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(readFileSync(path)).toEqual(Buffer.from(serializeSafetensors(tensors, { epoch: '3' })));

    const file = await readSafetensorsFile(path);
    expect(file.metadata).toEqual({ epoch: '3' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
    for (const [name, { shape, data }] of tensors) {
      expect(file.tensors.get(name)!.shape).toEqual(shape);
      expectClose(file.tensors.get(name)!.data, data, EXACT, 'safetensors', 'F32 round trip');
    }
    const header = await readSafetensorsHeader(path);
    expect(header.metadata).toEqual({ epoch: '3' });
    expect([...header.tensors]).toEqual([['a', { dtype: 'F32', shape: [], dataOffsets: [0, 4] }], ['b', { dtype: 'F32', shape: [2, 3], dataOffsets: [4, 28] }]]);
  });

  it('leaves no file behind when the write fails', async () => {
    const target = join(dir, 'a-directory');
    mkdirSync(target);
    await expect(writeSafetensorsFile(target, tensors)).rejects.toThrow();
    await expect(writeSafetensorsFile(join(dir, 'x.safetensors'), [['w', { shape: [2], data: new Float32Array(3) }]]))
      .rejects.toThrow('serializeSafetensors: tensor "w": data has 3 values, but shape [2] needs 2');
    expect(readdirSync(dir).sort()).toEqual(['a-directory', 'model.safetensors']);
    expect(readdirSync(target)).toEqual([]);
  });

  it('names the file when reading a malformed one, header alone included', async () => {
    const path = join(dir, 'model.safetensors');
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(path).subarray(0, 40));
    await expect(readSafetensorsFile(truncated)).rejects.toThrow(`${truncated}: header length`);
    await expect(readSafetensorsHeader(truncated)).rejects.toThrow(`${truncated}: header length`);
    writeFileSync(truncated, new Uint8Array(3));
    await expect(readSafetensorsHeader(truncated)).rejects.toThrow(`${truncated}: the file is 3 bytes, shorter than the 8-byte header length`);
    rmSync(truncated);
  });
});

const VIT4MNIST = '../shared/data/weights/vit4mnist/vit4mnist.safetensors';

describe.skipIf(!existsSync(VIT4MNIST))(`the real file ${VIT4MNIST} (skipped when ../shared/data is absent)`, () => {
  /** An f32 decoded by hand from its 4 little-endian bytes: sign, 8-bit exponent, 23-bit fraction. */
  function f32ByHand(bytes: Uint8Array, at: number): number {
    const [b0, b1, b2, b3] = bytes.subarray(at, at + 4);
    const sign = b3 >> 7 ? -1 : 1;
    const exponent = ((b3 & 0x7f) << 1) | (b2 >> 7);
    const fraction = ((b2 & 0x7f) << 16) | (b1 << 8) | b0;
    if (exponent === 0) return sign * fraction * 2 ** -149;
    if (exponent === 255) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 2 ** 23) * 2 ** (exponent - 127);
  }

  it('parses, with the expected names and shapes and values equal to a by-hand decode of the bytes', async () => {
    const file = await readSafetensorsFile(VIT4MNIST);
    expect(file.metadata).toEqual({ format: 'pt', source: 'vit-pytorch layout' });
    expect(file.tensors.size).toBe(74);
    const shapes = Object.fromEntries([...file.tensors].map(([name, t]) => [name, t.shape]));
    expect(shapes).toMatchObject({
      pos_embedding: [1, 17, 64], cls_token: [1, 1, 64], 'patch_to_embedding.weight': [64, 49],
      'transformer.layers.0.0.fn.fn.to_qkv.weight': [192, 64], 'mlp_head.2.weight': [10, 128],
    });

    const bytes = new Uint8Array(readFileSync(VIT4MNIST));
    const n = bytes[0] + bytes[1] * 2 ** 8 + bytes[2] * 2 ** 16 + bytes[3] * 2 ** 24; // upper 4 bytes are 0
    expect(n).toBe(7512);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    for (const [name, t] of file.tensors) {
      const begin = 8 + n + header[name].data_offsets[0];
      const byHand = Array.from(t.data, (_, i) => f32ByHand(bytes, begin + 4 * i));
      expectClose(t.data, byHand, EXACT, 'safetensors', 'vit4mnist vs by-hand decode');
    }
    // The first values, decoded independently with Python's struct.unpack('<3f', ...).
    expect([...file.tensors.get('cls_token')!.data.subarray(0, 3)]).toEqual([-1.3998942375183105, -0.19477397203445435, 0.9207285046577454]);
    expect([...file.tensors.get('pos_embedding')!.data.subarray(0, 3)]).toEqual([1.9069395065307617, 1.502838373184204, 0.9295362830162048]);
    expect([...file.tensors.get('patch_to_embedding.weight')!.data.subarray(0, 3)]).toEqual([-0.29267972707748413, -0.641454815864563, -0.33922630548477173]);
    // pos_embedding[0,0,0] is stored at byte 59016 as 98 16 f4 3f, i.e. 0x3ff41698: sign 0,
    // exponent 0x7f (2⁰), fraction 0x741698 = 7607960, so the value is 1 + 7607960 / 2²³.
    expect(Array.from(bytes.subarray(59016, 59020), (b) => b.toString(16).padStart(2, '0')).join(' ')).toBe('98 16 f4 3f');
    expect(file.tensors.get('pos_embedding')!.data[0]).toBe(1 + 7607960 / 2 ** 23);
  });

  it('reads the same names, dtypes and shapes from the header alone, and survives a write/read round trip', async () => {
    const header = await readSafetensorsHeader(VIT4MNIST);
    const file = await readSafetensorsFile(VIT4MNIST);
    expect([...header.tensors].map(([name, { dtype, shape }]) => [name, dtype, shape]))
      .toEqual([...file.tensors].map(([name, { dtype, shape }]) => [name, dtype, shape]));
    const again = parseSafetensors(serializeSafetensors(file.tensors, file.metadata), 'round trip');
    expect(again).toEqual(file);
  });
});
