// Per-kernel profile of one model step: records the dispatches of a warm step, then replays each
// alone (dispatch, wait for the queue) on the same buffers, and sums the times per kernel.
// `node dist/bench/profile.js [model:vit-tiny:240:train] [--top N] [--conv3x3 auto|direct|winograd-2x2|winograd-4x4]`
// (--conv3x3 forces conv2d's 3×3 algorithm, src/ops/winograd.ts).
//
// A replayed dispatch's time includes one submit-and-wait (the first table row says how long an
// empty one takes here), and the kernels run alone rather than back to back, so the total is a
// little above the step's own time; the shares are what to look at. Replays reuse the step's
// buffers, whose contents are by then whatever the step left: timing does not depend on values.
import { parseArgs } from 'node:util';
import { CONV_3X3_ALGORITHMS, Gpu, setConv3x3Algorithm, type Bindable, type Conv3x3Algorithm, type DispatchSpec } from '../src/index.js';
import { selectCases } from './cases.js';
import { prepareModel, type ModelCase } from './models.js';
import { median } from './timing.js';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '15' }, conv3x3: { type: 'string', default: 'auto' } },
  allowPositionals: true,
});
const name = positionals[0] ?? 'model:vit-tiny:240:train';
const found = selectCases([name], true);
const c = found[0];
if (found.length !== 1 || c.kind !== 'model' || c.mode === 'memory') throw new Error(`profile: '${name}' must name one model forward or train case`);

const gpu = await Gpu.create();
const CONV_3X3: readonly string[] = CONV_3X3_ALGORITHMS;
if (!CONV_3X3.includes(values.conv3x3)) throw new Error(`profile: --conv3x3 must be one of ${CONV_3X3.join(', ')}; got '${values.conv3x3}'`);
setConv3x3Algorithm(gpu, values.conv3x3 as Conv3x3Algorithm);
const m = await prepareModel(c as ModelCase, gpu);
const step = c.mode === 'train' ? m.trainStep : m.forwardStep;
await step(); // compile every pipeline

// Record a step's dispatches, with their buffers as plain bindings (tensors are freed by the end).
const recorded: DispatchSpec[] = [];
const dispatch = gpu.dispatch;
gpu.dispatch = (spec) => {
  const buffers: Bindable[] = spec.buffers.map((b) => ({ buffer: b.buffer, byteLength: b.byteLength, byteOffset: b.byteOffset }));
  recorded.push({ ...spec, buffers });
  dispatch.call(gpu, spec);
};
let t0 = performance.now();
await step();
const stepMs = performance.now() - t0;
Reflect.deleteProperty(gpu, 'dispatch');

// An empty submit-and-wait: the overhead inside each replayed time.
const waits: number[] = [];
for (let i = 0; i < 20; i++) {
  t0 = performance.now();
  await gpu.sync();
  waits.push(performance.now() - t0);
}
const waitMs = median(waits);

/** The kernel and what distinguishes its instances: constants, grid and binding sizes. */
const kernelOf = (s: DispatchSpec) => `${s.shader}:${s.entry}`;
const instanceOf = (s: DispatchSpec) =>
  `${kernelOf(s)} ${JSON.stringify(s.constants ?? {})} grid ${JSON.stringify(s.workgroups)} bytes ${s.buffers.map((b) => b.byteLength).join(',')}`;
const perKernel = new Map<string, { calls: number; ms: number }>();
const perInstance = new Map<string, { calls: number; ms: number }>();
const add = (map: Map<string, { calls: number; ms: number }>, key: string, ms: number) => {
  const e = map.get(key) ?? { calls: 0, ms: 0 };
  map.set(key, { calls: e.calls + 1, ms: e.ms + ms });
};
for (const spec of recorded) {
  t0 = performance.now();
  gpu.dispatch(spec);
  await gpu.sync();
  const ms = performance.now() - t0;
  add(perKernel, kernelOf(spec), ms);
  add(perInstance, instanceOf(spec), ms);
}
m.dispose();
gpu.destroy();

const total = [...perKernel.values()].reduce((s, e) => s + e.ms, 0);
const top = Number(values.top);
const rows = (map: Map<string, { calls: number; ms: number }>) =>
  [...map.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)
    .map(([k, e]) => `| ${k} | ${e.calls} | ${e.ms.toFixed(0)} | ${((100 * e.ms) / total).toFixed(1)}% |`).join('\n');
console.log(`${name}: the step took ${stepMs.toFixed(0)} ms with ${recorded.length} dispatches; replayed one by one ` +
  `${total.toFixed(0)} ms, of which about ${(waitMs * recorded.length).toFixed(0)} ms waiting (${waitMs.toFixed(2)} ms per empty wait)\n`);
console.log(`| kernel | calls | ms | share |\n|---|---|---|---|\n${rows(perKernel)}\n`);
console.log(`| instance (constants, grid, binding bytes) | calls | ms | share |\n|---|---|---|---|\n${rows(perInstance)}`);
