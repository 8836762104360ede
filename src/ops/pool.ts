// Pooling on NCHW tensors: maxPool2d (2×2 window, stride 2) and adaptiveAvgPool2d, with their
// backward rules.

import { uniforms, type ShaderEntries } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';

/** Runs one pooling kernel over [B·C, H, W] planes; `threads` is the number of elements it writes. */
function launch(entry: ShaderEntries['pool'], buffers: Tensor[], H: number, W: number, OH: number, OW: number, threads: number): void {
  buffers[0].gpu.dispatch({
    shader: 'pool',
    entry,
    uniforms: uniforms([H, W, OH, OW, threads]),
    buffers,
    workgroups: Math.ceil(threads / 256),
  });
}

function checkImage(op: string, x: Tensor): void {
  if (x.rank !== 4 || x.size === 0) {
    throw new Error(`${op}: x must be a non-empty [B, C, H, W] tensor, got [${x.shape.join(', ')}]`);
  }
}

/** nn.MaxPool2d(2): 2×2 windows with stride 2; an odd last row or column is dropped, as PyTorch. */
export function maxPool2d(x: Tensor): Tensor {
  checkImage('maxPool2d', x);
  const [B, C, H, W] = x.shape;
  const OH = Math.floor(H / 2);
  const OW = Math.floor(W / 2);
  if (OH === 0 || OW === 0) throw new Error(`maxPool2d: x [${x.shape.join(', ')}] is smaller than the 2×2 window`);
  const out = Tensor.empty(x.gpu, [B, C, OH, OW]);
  launch('max_pool', [x, out], H, W, OH, OW, out.size);
  return record({
    op: 'maxPool2d',
    inputs: [x],
    output: out,
    save: [x],
    backward: (dy, [xSaved]) => {
      // The gradient goes to the first maximum of each window, found again from the saved input.
      const dx = Tensor.empty(dy.gpu, x.shape);
      launch('max_pool_grad', [xSaved, dy, dx], H, W, OH, OW, dx.size);
      return [dx];
    },
  });
}

/** nn.AdaptiveAvgPool2d(bins): [B, C, H, W] -> [B, C, bins, bins] with PyTorch's (overlapping) bin edges. */
export function adaptiveAvgPool2d(x: Tensor, bins: number): Tensor {
  checkImage('adaptiveAvgPool2d', x);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`adaptiveAvgPool2d: bins must be a positive integer, got ${bins}`);
  const [B, C, H, W] = x.shape;
  const out = Tensor.empty(x.gpu, [B, C, bins, bins]);
  launch('adaptive_avg_pool', [x, out], H, W, bins, bins, out.size);
  return record({
    op: 'adaptiveAvgPool2d',
    inputs: [x],
    output: out,
    backward: (dy) => {
      const dx = Tensor.empty(dy.gpu, x.shape);
      launch('adaptive_avg_pool_grad', [dy, dx], H, W, bins, bins, dx.size);
      return [dx];
    },
  });
}
