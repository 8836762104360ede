// gzip (RFC 1952) and inflate (RFC 1951) in plain TypeScript, checked at every step, so a NIfTI
// file is never read from a corrupt or hostile stream. It runs unchanged in Node, Deno, Bun and
// browsers (synchronous, no Node API).
//
// Why our own and not a library or DecompressionStream('gzip'):
// - fflate's gunzipSync (what nifti-reader-js, on the design card, calls) checks neither the CRC32 nor ISIZE of a
//   member, allocates whatever the ISIZE trailer claims (a 143-byte file reserves 4 GiB) and reads
//   only the first member; its streaming Gunzip checks no trailer either.
// - DecompressionStream is asynchronous (readNifti is synchronous and used by the CLI, the web
//   page and the tests), and what it verifies differs between runtimes (trailing data, members).
// Here every member's CRC32 and ISIZE are checked, members are read in sequence until the input
// ends (anything after the last member that is not another member is refused), distances cannot
// reach before the member's own output, and the output may not grow past a cap the caller
// derives from the NIfTI header: memory follows the real output, never a trailer or header claim.

/** Thrown (inside) when the output reaches the cap; becomes an error or the end of a prefix read. */
class OutputLimit {}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const MAX_MATCH = 258;
/** The most deflate can expand: a 258-byte match per 2 bits, about 1032:1. */
const MAX_EXPANSION = 1032;
/** The order in which a dynamic block lists its code-length code lengths. */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code: a lookup table indexed by the next `bits` (at most PRIMARY_BITS) input
 * bits, LSB first, each entry symbol << 4 | code length (0: no code that short matches), and for
 * longer codes the code counts per length and the symbols in code order, decoded bit by bit.
 * Keeping the table small bounds the work per block: a stream of tiny blocks with 15-bit codes
 * would otherwise fill 32768 entries every few bytes.
 */
interface HuffmanTable {
  table: Uint16Array;
  bits: number;
  counts: Uint16Array;
  symbols: Uint16Array;
}

const PRIMARY_BITS = 10;

class InflateError extends Error {}

function huffmanTable(lengths: ArrayLike<number>, what: string): HuffmanTable {
  const counts = new Uint16Array(16);
  for (let s = 0; s < lengths.length; s++) counts[lengths[s]]++;
  counts[0] = 0;
  let maxLength = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = 2 * left - counts[len];
    if (left < 0) throw new InflateError(`invalid ${what} code (over-subscribed)`);
    if (counts[len] > 0) maxLength = len;
  }
  // As zlib: the code-length code must be complete; the literal/length and distance codes may
  // be incomplete (real files have 30 five-bit distance codes), their unused entries an error.
  if (left > 0 && what === 'code-length') throw new InflateError('invalid code-length code (incomplete)');
  // Symbols in canonical code order (by length, then value); offsets[len] is where each length starts.
  const offsets = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len] + counts[len];
  const symbols = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] !== 0) symbols[offsets[lengths[s]]++] = s;
  // The lookup table for codes of up to `bits` bits; longer codes (and the unused half of a lone
  // 1-bit code) leave entries 0, decoded by decodeLong.
  const bits = Math.min(maxLength, PRIMARY_BITS);
  const table = new Uint16Array(1 << bits);
  for (let len = 1, code = 0, index = 0; len <= bits; len++) {
    for (let k = 0; k < counts[len]; k++, code++, index++) {
      let reversed = 0;
      for (let b = 0, c = code; b < len; b++, c >>= 1) reversed = (reversed << 1) | (c & 1);
      for (let e = reversed; e < table.length; e += 1 << len) table[e] = (symbols[index] << 4) | len;
    }
    code <<= 1;
  }
  return { table, bits, counts, symbols };
}

let fixedTables: [HuffmanTable, HuffmanTable] | null = null;

function fixedCodes(): [HuffmanTable, HuffmanTable] {
  if (!fixedTables) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixedTables = [huffmanTable(lit, 'literal/length'), huffmanTable(new Uint8Array(30).fill(5), 'distance')];
  }
  return fixedTables;
}

/** The growing output: never past `cap` bytes, however much the input claims. */
class Output {
  buffer: Uint8Array;
  length = 0;
  constructor(initial: number, readonly cap: number) {
    this.buffer = new Uint8Array(Math.min(initial, cap));
  }
  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const needed = this.length + n;
    if (needed <= this.buffer.length) return;
    if (needed > this.cap) throw new OutputLimit();
    const grown = new Uint8Array(Math.min(this.cap, Math.max(needed, 2 * this.buffer.length)));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/** Inflates one raw deflate stream from `data[start]` into `out`; returns where it ended (byte-aligned). */
function inflateStream(data: Uint8Array, start: number, out: Output): number {
  const end = data.length;
  const memberStart = out.length;
  let pos = start;
  let bitBuffer = 0;
  let bitCount = 0;
  // Past the end, zero bits are fed (a Huffman lookup may peek beyond the last code); reading
  // more than 4 bytes past it means the stream is cut short.
  const need = (n: number): void => {
    while (bitCount < n) {
      if (pos < end) bitBuffer |= data[pos] << bitCount;
      else if (pos >= end + 4) throw new InflateError('the compressed data ends early (truncated)');
      pos++;
      bitCount += 8;
    }
  };
  const bits = (n: number): number => {
    need(n);
    const v = bitBuffer & ((1 << n) - 1);
    bitBuffer >>>= n;
    bitCount -= n;
    return v;
  };
  const decode = (h: HuffmanTable): number => {
    need(h.bits);
    const entry = h.table[bitBuffer & ((1 << h.bits) - 1)];
    const len = entry & 15;
    if (len === 0) return decodeLong(h);
    bitBuffer >>>= len;
    bitCount -= len;
    return entry >> 4;
  };
  // A code longer than the table (or none): walk the canonical code one bit at a time (as zlib's
  // puff.c does), from the same position.
  const decodeLong = (h: HuffmanTable): number => {
    for (let len = 1, code = 0, first = 0, index = 0; len <= 15; len++) {
      code |= bits(1);
      const count = h.counts[len];
      if (code - first < count) return h.symbols[index + code - first];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new InflateError('invalid Huffman code');
  };

  let final = 0;
  while (!final) {
    final = bits(1);
    const type = bits(2);
    if (type === 0) {
      // Stored: byte-align, then LEN and its complement NLEN.
      pos -= bitCount >> 3;
      bitBuffer = 0;
      bitCount = 0;
      if (pos + 4 > end) throw new InflateError('the compressed data ends early (truncated)');
      const len = data[pos] | (data[pos + 1] << 8);
      const nlen = data[pos + 2] | (data[pos + 3] << 8);
      if ((len ^ 0xffff) !== nlen) throw new InflateError('invalid stored block (LEN and NLEN disagree)');
      pos += 4;
      if (pos + len > end) throw new InflateError('the compressed data ends early (truncated)');
      // In pieces no longer than a match, so a prefix read stops within 258 bytes of its cap.
      for (let k = 0; k < len; k += MAX_MATCH) {
        const piece = Math.min(MAX_MATCH, len - k);
        out.reserve(piece);
        out.buffer.set(data.subarray(pos + k, pos + k + piece), out.length);
        out.length += piece;
      }
      pos += len;
      continue;
    }
    if (type === 3) throw new InflateError('invalid block type 3');
    let literals: HuffmanTable;
    let distances: HuffmanTable;
    if (type === 1) {
      [literals, distances] = fixedCodes();
    } else {
      const nLiteral = bits(5) + 257;
      const nDistance = bits(5) + 1;
      const nCodeLength = bits(4) + 4;
      if (nLiteral > 286 || nDistance > 30) throw new InflateError('invalid dynamic block (too many codes)');
      const codeLengthLengths = new Uint8Array(19);
      for (let i = 0; i < nCodeLength; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]] = bits(3);
      const codeLengths = huffmanTable(codeLengthLengths, 'code-length');
      const lengths = new Uint8Array(nLiteral + nDistance);
      for (let i = 0; i < lengths.length;) {
        const sym = decode(codeLengths);
        if (sym < 16) {
          lengths[i++] = sym;
          continue;
        }
        let repeat: number;
        let value = 0;
        if (sym === 16) {
          if (i === 0) throw new InflateError('invalid dynamic block (repeat with no previous length)');
          value = lengths[i - 1];
          repeat = 3 + bits(2);
        } else {
          repeat = sym === 17 ? 3 + bits(3) : 11 + bits(7);
        }
        if (i + repeat > lengths.length) throw new InflateError('invalid dynamic block (code lengths overflow)');
        lengths.fill(value, i, i + repeat);
        i += repeat;
      }
      if (lengths[256] === 0) throw new InflateError('invalid dynamic block (no end-of-block code)');
      literals = huffmanTable(lengths.subarray(0, nLiteral), 'literal/length');
      distances = huffmanTable(lengths.subarray(nLiteral), 'distance');
    }
    for (;;) {
      const sym = decode(literals);
      if (sym < 256) {
        if (out.length === out.buffer.length) out.reserve(1);
        out.buffer[out.length++] = sym;
        continue;
      }
      if (sym === 256) break;
      if (sym > 285) throw new InflateError(`invalid length code ${sym}`);
      const length = LENGTH_BASE[sym - 257] + bits(LENGTH_EXTRA[sym - 257]);
      const dsym = decode(distances);
      if (dsym >= 30) throw new InflateError(`invalid distance code ${dsym}`);
      const distance = DIST_BASE[dsym] + bits(DIST_EXTRA[dsym]);
      if (distance > out.length - memberStart) throw new InflateError('invalid distance (reaches before the start of the data)');
      out.reserve(length);
      const buf = out.buffer;
      let at = out.length;
      if (distance >= length) {
        buf.copyWithin(at, at - distance, at - distance + length);
      } else {
        for (let k = 0; k < length; k++, at++) buf[at] = buf[at - distance];
      }
      out.length += length;
    }
  }
  const next = pos - (bitCount >> 3);
  if (next > end) throw new InflateError('the compressed data ends early (truncated)');
  return next;
}

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 (the gzip / zlib polynomial) of `bytes`, as an unsigned number. */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const FLAG_HCRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;

/** Parses one member header at `start`; returns where its deflate data begins. */
function memberHeader(data: Uint8Array, start: number): number {
  const truncated = (): never => {
    throw new InflateError('the gzip header ends early (truncated)');
  };
  if (start + 10 > data.length) truncated();
  if (data[start] !== 0x1f || data[start + 1] !== 0x8b) throw new InflateError('not a gzip member (bad magic bytes)');
  if (data[start + 2] !== 8) throw new InflateError(`unknown compression method ${data[start + 2]} (only deflate, 8, exists)`);
  const flags = data[start + 3];
  if (flags & 0xe0) throw new InflateError(`reserved header flags set (0x${flags.toString(16)})`);
  let pos = start + 10;
  if (flags & FLAG_EXTRA) {
    if (pos + 2 > data.length) truncated();
    pos += 2 + (data[pos] | (data[pos + 1] << 8));
  }
  for (const flag of [FLAG_NAME, FLAG_COMMENT]) {
    if (!(flags & flag)) continue;
    while (pos < data.length && data[pos] !== 0) pos++;
    pos++;
  }
  if (flags & FLAG_HCRC) {
    if (pos + 2 > data.length) truncated();
    const stored = data[pos] | (data[pos + 1] << 8);
    if ((crc32(data.subarray(start, pos)) & 0xffff) !== stored) throw new InflateError('header CRC16 mismatch');
    pos += 2;
  }
  if (pos > data.length) truncated();
  return pos;
}

const readU32 = (d: Uint8Array, p: number): number => (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;

/** Inflates every member of `data` into `out`, checking each member's CRC32 and ISIZE. */
function inflateMembers(data: Uint8Array, out: Output): void {
  let pos = 0;
  for (let member = 1; ; member++) {
    const where = member > 1 ? ` (member ${member})` : '';
    try {
      const begin = out.length;
      const deflateEnd = inflateStream(data, memberHeader(data, pos), out);
      if (deflateEnd + 8 > data.length) throw new InflateError('the CRC32/ISIZE trailer is missing (truncated)');
      const produced = out.buffer.subarray(begin, out.length);
      const crc = crc32(produced);
      const storedCrc = readU32(data, deflateEnd);
      if (crc !== storedCrc) {
        throw new InflateError(`CRC32 mismatch: the data gives 0x${crc.toString(16).padStart(8, '0')}, the trailer says 0x${storedCrc.toString(16).padStart(8, '0')}`);
      }
      const isize = readU32(data, deflateEnd + 4);
      if (produced.length % 2 ** 32 !== isize) {
        throw new InflateError(`ISIZE mismatch: the data is ${produced.length} bytes, the trailer says ${isize} (mod 2^32)`);
      }
      pos = deflateEnd + 8;
    } catch (error) {
      if (error instanceof InflateError) throw new InflateError(`${error.message}${where}`);
      throw error;
    }
    if (pos === data.length) return;
    if (data[pos] !== 0x1f || data[pos + 1] !== 0x8b) {
      throw new InflateError(`${data.length - pos} bytes after the last gzip member are not another member (trailing garbage)`);
    }
  }
}

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * Decompresses a whole gzip stream (every member), checking CRC32 and ISIZE, and refuses output
 * longer than `maxBytes` (`limit` says where that number comes from). Errors name `fileName`.
 */
export function gunzip(bytes: Uint8Array, fileName: string, maxBytes: number, limit: string): Uint8Array {
  // The cap (exact for a sound NIfTI file) is reserved at once up to 64 MiB, and only as far as
  // the input could fill it (deflate expands at most 1032 times); beyond, the buffer doubles.
  const out = new Output(Math.min(MAX_EXPANSION * bytes.length + (1 << 16), 1 << 26), maxBytes);
  try {
    inflateMembers(bytes, out);
  } catch (error) {
    if (error instanceof OutputLimit) {
      throw new Error(`${fileName}: the gzip data decompresses to more than ${maxBytes} bytes, ${limit}`);
    }
    if (error instanceof InflateError) throw new Error(`${fileName}: corrupt gzip data: ${error.message}`);
    throw error;
  }
  return out.buffer.subarray(0, out.length);
}

/**
 * The first `n` decompressed bytes (fewer if the data is shorter), to read a header before the
 * whole stream's size is known. Only what was inflated is checked; `gunzip` checks the rest.
 */
export function gunzipPrefix(bytes: Uint8Array, fileName: string, n: number): Uint8Array {
  // Every write is at most MAX_MATCH bytes, so hitting this cap means at least n bytes are out.
  const out = new Output(n + MAX_MATCH, n + MAX_MATCH);
  try {
    inflateMembers(bytes, out);
  } catch (error) {
    if (error instanceof OutputLimit) return out.buffer.subarray(0, n);
    if (error instanceof InflateError) throw new Error(`${fileName}: corrupt gzip data: ${error.message}`);
    throw error;
  }
  return out.buffer.subarray(0, out.length);
}
