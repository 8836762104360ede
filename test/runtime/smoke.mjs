// Runtime smoke test, run by .ci/run under Node, Deno and Bun against the built library (dist/):
// get a device, check one matmul and one backward against hand-computed values, release the
// device, and exit on its own. Also the checked gunzip (src/io/gunzip.ts) NIfTI files go through:
// a stream from the runtime's own CompressionStream, and the refusal of a damaged CRC32. And the
// pacing of Dawn's polling (src/gpu/dawn-pacing.ts) as this runtime gets it: that the bindings
// poll through the global setImmediate here too, and which pause a paced tick takes here. Prints
// the plain 'N passed, N failed' closing line.
// The GPU part goes through the package's main entry, so each runtime also loads all of it.
import { Gpu, Tensor, backward, ops } from '../../dist/src/index.js';
import { pacedWait } from '../../dist/src/gpu/dawn-pacing.js';
import { gunzip } from '../../dist/src/io/gunzip.js';

const { matmul } = ops;

const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
let passed = 0;
let failed = 0;
function check(name, actual, expected) {
  const ok = actual.length === expected.length && expected.every((v, i) => Math.abs(actual[i] - v) <= 1e-6 * Math.max(1, Math.abs(v)));
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${runtime}: ${name}${ok ? '' : ` got [${[...actual]}] expected [${expected}]`}`);
}

const gpu = await Gpu.create();
console.log(`${runtime}: adapter ${gpu.info.adapter.description || gpu.info.adapter.vendor}`);
// A [2,3] · B [3,2] with bias [2].
const a = Tensor.fromArray(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
const b = Tensor.fromArray(gpu, [0.5, -1, 2, 0, -1, 3], [3, 2]);
const bias = Tensor.fromArray(gpu, [0.25, -0.25], [2]);
a.requiresGrad = b.requiresGrad = bias.requiresGrad = true;
const c = matmul(a, b, { bias });
check('matmul forward', await c.read(), [1.75, 7.75, 6.25, 13.75]);
// d(sum(C ∘ G))/dA = G·Bᵀ, /dB = Aᵀ·G, /dbias = column sums of G.
const g = Tensor.fromArray(gpu, [1, 2, 3, 4], [2, 2]);
backward(c, g);
check('matmul backward dA', await a.grad.read(), [-1.5, 2, 5, -2.5, 6, 9]);
check('matmul backward dB', await b.grad.read(), [13, 18, 17, 24, 21, 30]);
check('matmul backward dbias', await bias.grad.read(), [4, 6]);
if (gpu.info.backend === 'dawn') {
  // A pending promise of the bindings queues at least one tick through the global setImmediate,
  // which pacedWait keeps as the immediate one it calls: no call means the pacing has no effect.
  const immediate = globalThis.setImmediate;
  let calls = 0;
  globalThis.setImmediate = (callback, ...args) => (calls++, immediate(callback, ...args));
  matmul(a, b).dispose();
  await gpu.sync();
  globalThis.setImmediate = immediate;
  check('Dawn polls through the global setImmediate', [Math.min(calls, 1)], [1]);
}
gpu.destroy();

// 40 ticks of a promise that polls as the bindings do: the 8 after the 32 immediate ones are
// paced, by a 1 ms sleep of the thread in Deno (its timers fire about 2 ms after setTimeout(f, 1))
// and by a 1 ms timer elsewhere.
const counted = (object, name, counter) => {
  const real = object[name];
  object[name] = (...args) => (counter.n++, real.apply(object, args));
  return () => (object[name] = real);
};
const sleeps = { n: 0 };
const timers = { n: 0 };
const restore = [counted(Atomics, 'wait', sleeps), counted(globalThis, 'setTimeout', timers)];
await pacedWait(() => new Promise((resolve) => {
  let ticks = 0;
  const tick = () => (++ticks === 40 ? resolve() : globalThis.setImmediate(tick));
  globalThis.setImmediate(tick);
}));
restore.forEach((undo) => undo());
check('paced ticks: [sleeps, timers]', [sleeps.n, timers.n], runtime === 'deno' ? [8, 0] : [0, 8]);

const plain = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 251);
const zipped = new Uint8Array(await new Response(new Blob([plain]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
check('gunzip of a CompressionStream stream', gunzip(zipped, 'smoke.gz', plain.length, 'its size'), plain);
zipped[zipped.length - 8] ^= 1;
let refused = 0;
try {
  gunzip(zipped, 'smoke.gz', plain.length, 'its size');
} catch (error) {
  refused = error.message.startsWith('smoke.gz: corrupt gzip data: CRC32 mismatch') ? 1 : 0;
}
check('gunzip refuses a damaged CRC32', [refused], [1]);
console.log(`${runtime}: ${passed} passed, ${failed} failed`);
if (failed > 0) {
  if (runtime === 'deno') Deno.exit(1);
  else process.exit(1);
}
