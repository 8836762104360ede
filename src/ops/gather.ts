// relativePositionBias: BEiT's learned table [R, H] expanded through a fixed index into per-head
// attention biases [H, N, N], with a deterministic backward (see shaders/gather.wgsl).

import type { Gpu } from '../gpu/gpu.js';
import { uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';

/** The index on the GPU, and its inverse (positions grouped by table row) for the backward. */
export class RelativePositionIndex {
  readonly index: Tensor;
  readonly rowStart: Tensor;
  readonly rowPositions: Tensor;

  /** `index[i·n + j]` is the table row for query i and key j; every value is in [0, rows). */
  constructor(gpu: Gpu, index: Int32Array, readonly tokens: number, readonly rows: number) {
    if (index.length !== tokens * tokens) throw new Error(`relative index: ${index.length} entries for ${tokens} tokens`);
    if (tokens * tokens > 2 ** 24) throw new Error(`relative index: ${tokens} tokens exceed the exact f32 integer range`);
    const counts = new Int32Array(rows + 1);
    for (const r of index) {
      if (r < 0 || r >= rows) throw new Error(`relative index: entry ${r} outside the table's ${rows} rows`);
      counts[r + 1]++;
    }
    for (let r = 0; r < rows; r++) counts[r + 1] += counts[r];
    const fill = counts.slice(0, rows);
    const positions = new Float32Array(index.length);
    index.forEach((r, pos) => { positions[fill[r]++] = pos; });
    this.index = keep(Tensor.fromArray(gpu, Float32Array.from(index), [index.length]));
    this.rowStart = keep(Tensor.fromArray(gpu, Float32Array.from(counts), [rows + 1]));
    this.rowPositions = keep(Tensor.fromArray(gpu, positions, [index.length]));
  }

  dispose(): void {
    this.index.dispose();
    this.rowStart.dispose();
    this.rowPositions.dispose();
  }
}

/** table [R, H] → bias [H, N, N] with bias[h, i, j] = table[index[i, j], h]. */
export function relativePositionBias(table: Tensor, index: RelativePositionIndex): Tensor {
  const [rows, heads] = table.shape;
  if (table.rank !== 2 || rows !== index.rows) {
    throw new Error(`relativePositionBias: table must be [${index.rows}, heads], got [${table.shape.join(', ')}]`);
  }
  const n = index.tokens;
  const positions = n * n;
  const gpu = table.gpu;
  const bias = Tensor.empty(gpu, [heads, n, n]);
  gpu.dispatch({
    shader: 'gather', entry: 'expand', uniforms: uniforms([positions, heads, rows]),
    buffers: [table, index.index, bias], workgroups: Math.ceil(positions / 256),
  });
  return record({
    op: 'relativePositionBias',
    inputs: [table],
    output: bias,
    backward: (dBias) => {
      const dTable = Tensor.empty(gpu, [rows, heads]);
      gpu.dispatch({
        shader: 'gather', entry: 'table_grad', uniforms: uniforms([positions, heads, rows]),
        buffers: [dBias, index.rowStart, index.rowPositions, dTable], workgroups: Math.ceil((rows * heads) / 256),
      });
      return [dTable];
    },
  });
}
