// Interleaved A/B of one model step between two builds of this repository: the `dist/` here and
// another (a checkout of an older commit, built with `npm run build`). Each build gets its own
// device; after two warm-up steps each, every round runs one step of each in turn, so a load that
// changes slows both alike.
// `node dist/bench/ab-builds.js --base /path/to/other/dist [--rounds N] [model:vit-tiny:240:train]`
// prints both medians, every round's times and the speed of this build over the base.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { median } from './timing.js';

const { values, positionals } = parseArgs({
  options: { base: { type: 'string' }, rounds: { type: 'string', default: '5' } },
  allowPositionals: true,
});
if (!values.base) throw new Error('ab-builds: --base must name the other build\'s dist/ folder');
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`ab-builds: --rounds must be a positive integer; got '${values.rounds}'`);
const name = positionals[0] ?? 'model:vit-tiny:240:train';
const builds = { base: values.base, this: fileURLToPath(new URL('..', import.meta.url)) };

interface Prepared {
  step: () => Promise<void>;
  close: () => void;
}

/** One build's step for the case, prepared and warmed up on its own device. */
async function prepare(dist: string): Promise<Prepared> {
  const lib = await import(`${dist}/src/index.js`);
  const { selectCases } = await import(`${dist}/bench/cases.js`);
  const { prepareModel } = await import(`${dist}/bench/models.js`);
  const found = selectCases([name], true);
  const c = found[0];
  if (found.length !== 1 || c.kind !== 'model' || c.mode === 'memory') throw new Error(`ab-builds: '${name}' must name one model forward or train case`);
  const gpu = await lib.Gpu.create();
  const m = await prepareModel(c, gpu);
  const step: () => Promise<void> = c.mode === 'train' ? m.trainStep : m.forwardStep;
  for (let i = 0; i < 2; i++) await step();
  return { step, close: () => { m.dispose(); gpu.destroy(); } };
}

const prepared = [await prepare(builds.base), await prepare(builds.this)];
const samples: number[][] = [[], []];
for (let r = 0; r < rounds; r++) {
  for (const [i, { step }] of prepared.entries()) {
    const t0 = performance.now();
    await step();
    samples[i].push(performance.now() - t0);
  }
}
for (const [i, label] of ['base', 'this'].entries()) {
  console.log(`${label} (${Object.values(builds)[i]}): median ${median(samples[i]).toFixed(0)} ms; rounds ${samples[i].map((t) => t.toFixed(0)).join(' ')}`);
}
console.log(`${name}: this build ÷ base, steps/s: ${(median(samples[0]) / median(samples[1])).toFixed(3)}`);
prepared.forEach((p) => p.close());
