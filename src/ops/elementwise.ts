// Elementwise ops and their backward rules: add/sub/mul/div with NumPy broadcasting, scalar
// scale/shift, and the unary activations. Kernels: shaders/elementwise.wgsl.

import { flatWork, uniforms } from '../gpu/gpu.js';
import { needsGrad, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { broadcastShape, broadcastStrides, coalesce, padDims, sameShape, vec4Layout } from './layout.js';
import { sumToShape } from './reduce.js';

type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
type UnaryOp = 'scale' | 'addScalar' | 'neg' | 'relu' | 'gelu' | 'exp' | 'log' | 'sqrt' | 'square';
type Activation = 'relu' | 'gelu' | 'exp' | 'log' | 'sqrt' | 'square';

/** The kernels' OP constants (the same numbering as in the WGSL). */
const BINARY: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };
const UNARY: Record<UnaryOp, number> = { scale: 0, addScalar: 1, neg: 2, relu: 3, gelu: 4, exp: 5, log: 6, sqrt: 7, square: 8 };

/** Which saved tensor each activation's derivative is computed from: its input x or its output y. */
const DERIVATIVE_FROM: Record<Activation, 'x' | 'y'> = { relu: 'y', gelu: 'x', exp: 'y', log: 'x', sqrt: 'y', square: 'x' };

function launchBinary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(op, a.shape, b.shape);
  const layout = coalesce(op, shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const out = Tensor.empty(a.gpu, shape);
  if (out.size === 0) return out;
  const v = vec4Layout(layout);
  const walk = v ?? layout;
  const count = v ? out.size / 4 : out.size;
  a.gpu.dispatch({
    shader: 'elementwise',
    entry: v ? 'binary_vec4' : 'binary',
    constants: { OP: BINARY[op], RANK: walk.sizes.length },
    uniforms: uniforms([...padDims(walk.sizes), ...padDims(walk.strides[0]), ...padDims(walk.strides[1]), count]),
    buffers: [a, b, out],
    workgroups: Math.ceil(count / 256),
  });
  return out;
}

function launchUnary(op: UnaryOp, x: Tensor, s = 0): Tensor {
  const out = Tensor.empty(x.gpu, x.shape);
  if (out.size === 0) return out;
  const { vec4, count } = flatWork(x.size);
  x.gpu.dispatch({
    shader: 'elementwise',
    entry: vec4 ? 'unary_vec4' : 'unary',
    constants: { OP: UNARY[op] },
    uniforms: uniforms([count], [s]),
    buffers: [x, out],
    workgroups: Math.ceil(count / 256),
  });
  return out;
}

/** dx = dy · f'(saved), where saved is the activation's input or output (DERIVATIVE_FROM). */
function launchUnaryGrad(op: Activation, saved: Tensor, dy: Tensor): Tensor {
  const dx = Tensor.empty(dy.gpu, dy.shape);
  if (dx.size === 0) return dx;
  const { vec4, count } = flatWork(dy.size);
  dy.gpu.dispatch({
    shader: 'elementwise',
    entry: vec4 ? 'unary_grad_vec4' : 'unary_grad',
    constants: { OP: UNARY[op] },
    uniforms: uniforms([count]),
    buffers: [saved, dy, dx],
    workgroups: Math.ceil(count / 256),
  });
  return dx;
}

/** dy where y > 0, else 0: ReLU's backward, for an op that applies the ReLU to its own output. */
export function reluGrad(y: Tensor, dy: Tensor): Tensor {
  return launchUnaryGrad('relu', y, dy);
}

/** The gradient `full` (of the broadcast output's shape) summed down to an input's shape; takes ownership of `full`. */
function unbroadcast(full: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(full.shape, shape)) return full;
  const reduced = sumToShape(full, shape);
  full.dispose();
  return reduced;
}

/** -t, disposing t. */
function negated(t: Tensor): Tensor {
  const n = neg(t);
  t.dispose();
  return n;
}

/** a + b, broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  const [ga, gb] = [needsGrad(a), needsGrad(b)];
  return record({
    op: 'add',
    inputs: [a, b],
    output: launchBinary('add', a, b),
    backward: (g) => [ga ? unbroadcast(g.retain(), a.shape) : null, gb ? unbroadcast(g.retain(), b.shape) : null],
  });
}

/** a - b, broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  const [ga, gb] = [needsGrad(a), needsGrad(b)];
  return record({
    op: 'sub',
    inputs: [a, b],
    output: launchBinary('sub', a, b),
    backward: (g) => [ga ? unbroadcast(g.retain(), a.shape) : null, gb ? negated(unbroadcast(g.retain(), b.shape)) : null],
  });
}

/** a · b, broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const [ga, gb] = [needsGrad(a), needsGrad(b)];
  // a's gradient reads b and b's reads a: save only the ones that will be read.
  const save = [...(gb ? [a] : []), ...(ga ? [b] : [])];
  return record({
    op: 'mul',
    inputs: [a, b],
    output: launchBinary('mul', a, b),
    save,
    backward: (g, saved) => {
      const A = gb ? saved[0] : null;
      const B = ga ? saved[saved.length - 1] : null;
      return [B ? unbroadcast(mul(g, B), a.shape) : null, A ? unbroadcast(mul(g, A), b.shape) : null];
    },
  });
}

/** a / b, broadcasting. */
export function div(a: Tensor, b: Tensor): Tensor {
  const [ga, gb] = [needsGrad(a), needsGrad(b)];
  const out = launchBinary('div', a, b);
  return record({
    op: 'div',
    inputs: [a, b],
    output: out,
    save: gb ? [b, out] : [b],
    backward: (g, [B, Y]) => {
      // d(a/b)/db = -(a/b)/b = -y/b, evaluated as PyTorch does: -g · ((a/b)/b).
      let gradB: Tensor | null = null;
      if (gb) {
        const yOverB = div(Y, B);
        gradB = negated(unbroadcast(mul(g, yOverB), B.shape));
        yOverB.dispose();
      }
      return [ga ? unbroadcast(div(g, B), a.shape) : null, gradB];
    },
  });
}

/** x · s. */
export function scale(x: Tensor, s: number): Tensor {
  return record({
    op: 'scale',
    inputs: [x],
    output: launchUnary('scale', x, s),
    backward: (g) => [launchUnary('scale', g, s)],
  });
}

/** x + s. */
export function addScalar(x: Tensor, s: number): Tensor {
  return record({
    op: 'addScalar',
    inputs: [x],
    output: launchUnary('addScalar', x, s),
    backward: (g) => [g.retain()],
  });
}

/** -x. */
export function neg(x: Tensor): Tensor {
  return record({
    op: 'neg',
    inputs: [x],
    output: launchUnary('neg', x),
    backward: (g) => [launchUnary('neg', g)],
  });
}

function activation(op: Activation, x: Tensor): Tensor {
  const y = launchUnary(op, x);
  return record({
    op,
    inputs: [x],
    output: y,
    save: [DERIVATIVE_FROM[op] === 'x' ? x : y],
    backward: (g, [saved]) => [launchUnaryGrad(op, saved, g)],
  });
}

/** max(x, 0); its gradient at x = 0 is 0, as in PyTorch. */
export function relu(x: Tensor): Tensor {
  return activation('relu', x);
}

/** The exact GELU of PyTorch's nn.GELU(): 0.5·x·(1 + erf(x/√2)). */
export function gelu(x: Tensor): Tensor {
  return activation('gelu', x);
}

export function exp(x: Tensor): Tensor {
  return activation('exp', x);
}

/** Natural logarithm. */
export function log(x: Tensor): Tensor {
  return activation('log', x);
}

export function sqrt(x: Tensor): Tensor {
  return activation('sqrt', x);
}

/** x². */
export function square(x: Tensor): Tensor {
  return activation('square', x);
}
