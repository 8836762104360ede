// upsampleBilinear: F.interpolate(x, size, mode='bilinear', align_corners=False) on NCHW tensors,
// for any ratio (up or down), and its backward rule.

import { uniforms, type ShaderEntries } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';

interface Sizes {
  H: number;
  W: number;
  OH: number;
  OW: number;
}

/**
 * Runs one kernel, writing `output`: one invocation per element, in workgroups of 256; the `_cpu`
 * twins for CPU adapters take one invocation per row of `output`, 8 to a workgroup.
 */
function launch(entry: ShaderEntries['resample'], input: Tensor, output: Tensor, s: Sizes): void {
  const rows = entry === 'upsample_bilinear_cpu' || entry === 'upsample_bilinear_grad_cpu';
  const [B, C, H] = output.shape;
  const total = rows ? B * C * H : output.size;
  input.gpu.dispatch({
    shader: 'resample',
    entry,
    // PyTorch's scale is the f32 quotient in/out; Math.fround of the f64 quotient is that value.
    uniforms: uniforms([s.H, s.W, s.OH, s.OW, total], [Math.fround(s.H / s.OH), Math.fround(s.W / s.OW)]),
    buffers: [input, output],
    workgroups: Math.ceil(total / (rows ? 8 : 256)),
  });
}

export function upsampleBilinear(x: Tensor, size: readonly [number, number]): Tensor {
  const [OH, OW] = size;
  if (x.rank !== 4 || x.size === 0) {
    throw new Error(`upsampleBilinear: x must be a non-empty [B, C, H, W] tensor, got [${x.shape.join(', ')}]`);
  }
  if (size.length !== 2 || !Number.isInteger(OH) || !Number.isInteger(OW) || OH < 1 || OW < 1) {
    throw new Error(`upsampleBilinear: size must be two positive integers [height, width], got [${size.join(', ')}]`);
  }
  const [B, C, H, W] = x.shape;
  const s: Sizes = { H, W, OH, OW };
  const out = Tensor.empty(x.gpu, [B, C, OH, OW]);
  // CPU adapters divide integers and load lane by lane: there the kernels work a row at a time.
  const cpu = x.gpu.info.cpu;
  launch(cpu ? 'upsample_bilinear_cpu' : 'upsample_bilinear', x, out, s);
  return record({
    op: 'upsampleBilinear',
    inputs: [x],
    output: out,
    backward: (dy) => {
      const dx = Tensor.empty(dy.gpu, [B, C, H, W]);
      launch(cpu ? 'upsample_bilinear_grad_cpu' : 'upsample_bilinear_grad', dy, dx, s);
      return [dx];
    },
  });
}
