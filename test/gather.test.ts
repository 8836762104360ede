import { describe, it } from 'vitest';
import { relativePositionIndex } from '../src/model/relative-position-index.js';
import { RelativePositionIndex, relativePositionBias } from '../src/ops/gather.js';
import { gradCheck } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { relativePositionBiasRef } from './reference/gather.js';

// A gather is exact; its backward sums at most a few hundred f32 terms per table entry.
const EXACT = { atol: 0, rtol: 0 };
const GRAD = { atol: 1e-5, rtol: 1e-5 };

describe('relativePositionBias', () => {
  for (const [h, w, heads] of [[1, 1, 1], [2, 3, 2], [4, 4, 3]]) {
    it(`expands BEiT's table for a ${h}×${w} grid with ${heads} heads, and its gradient`, async () => {
      const gpu = await testGpu();
      const n = h * w + 1;
      const rows = (2 * h - 1) * (2 * w - 1) + 3;
      const raw = relativePositionIndex(h, w);
      const index = new RelativePositionIndex(gpu, raw, n, rows);
      await gradCheck({
        gpu,
        kernel: 'relativePositionBias',
        inputs: [{ shape: [rows, heads] }],
        gpuForward: ([table]) => relativePositionBias(table, index),
        cpuForward: ([table]) => relativePositionBiasRef(table, raw, heads, n),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
      index.dispose();
    });
  }
});
