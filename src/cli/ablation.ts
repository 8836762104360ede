// `transseg ablation --dataset dataset.json --weights vit2d.safetensors --out DIR [--seeds 3]
// [--settings LIST] [train options]`: the paper's settings × seeds on one dataset (src/ablation/),
// each run a `transseg train` run. Every `train` flag except those the ablation varies is passed
// through unchanged; see docs/cli.md.

import { Gpu } from '../gpu/gpu.js';
import { runAblation, writeAblation } from '../ablation/run-node.js';
import { chooseSettings } from '../ablation/settings.js';
import { defineCommand } from './flag-table.js';
import { positiveInteger } from './flags.js';
import { ProgressLine } from './progress.js';
import { optionsFromFlags, TRAIN_COMMAND } from './train.js';

/** The ablation's own flags (value, default, meaning); every other flag goes to `train`'s parser. */
export const ABLATION_FLAGS = {
  seeds: { value: 'N', default: '3', meaning: 'seeds per setting: seed, seed+1, …, seed+N−1 (paired across settings)' },
  seed: { value: 'S', default: '1234', meaning: 'the first seed; also the seed of the validation split when dataset.json lists none' },
  settings: { value: 'LIST', default: 'all four', meaning: 'comma-separated: inflated-centering, inflated-inflation, wo-d, wo-td' },
} as const;

/** `train` flags that the ablation sets itself, per setting and seed. */
const VARIED = ['force-2d', 'no-pretrained', 'method', 'validate-every', 'resume'];

export const ABLATION_COMMAND = defineCommand({
  name: 'ablation',
  summary: "the paper's settings × seeds on one dataset: mean ± sd, paired differences",
  description: "Train and evaluate the paper's settings (inflated pre-trained with centering and with inflation, w/o D, w/o T&D) with N seeds each on one dataset.json, each run a `transseg train` run validated once after its last step; writes ablation.md/.json/.svg with mean ± sd per setting and the paired differences (a paired t rule says which are within noise).",
  synopsis: '--dataset dataset.json --weights W2D --out DIR [--seeds 3] [--settings LIST] [train options]',
  flags: [
    ...Object.entries(ABLATION_FLAGS).map(([name, f]) => ({ name, value: f.value, shownDefault: f.default, help: f.meaning, group: 'ablation' })),
    ...TRAIN_COMMAND.flags.filter((f) => !VARIED.includes(f.name) && f.name !== 'seed').map((f) => ({ ...f, group: `train: ${f.group ?? 'options'}` })),
  ],
});

/** Splits off the ablation's own `--flag value` / `--flag=value` pairs; the rest is for `train`. */
function splitFlags(argv: string[]): { own: Partial<Record<keyof typeof ABLATION_FLAGS, string>>; rest: string[] } {
  const own: Partial<Record<keyof typeof ABLATION_FLAGS, string>> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
    const name = m?.[1];
    if (name && VARIED.includes(name)) throw new Error(`ablation: --${name} is what the ablation varies; leave it out (see --settings)`);
    if (name && Object.hasOwn(ABLATION_FLAGS, name)) {
      const value = m![2] ?? argv[++i];
      if (value === undefined) throw new Error(`ablation: --${name} needs a value (${ABLATION_FLAGS[name as keyof typeof ABLATION_FLAGS].value})`);
      own[name as keyof typeof ABLATION_FLAGS] = value;
    } else rest.push(argv[i]);
  }
  return { own, rest };
}

export async function ablation(argv: string[]): Promise<string> {
  const { own, rest } = splitFlags(argv);
  const count = positiveInteger(own.seeds ?? ABLATION_FLAGS.seeds.default, 'seeds', 'ablation');
  const first = Number(own.seed ?? ABLATION_FLAGS.seed.default);
  if (!Number.isInteger(first) || first < 0) throw new Error(`ablation: --seed must be an integer >= 0, got '${own.seed}'`);
  const settings = chooseSettings(own.settings);
  // train's parser names itself in its errors; here they are the ablation's.
  const base = await optionsFromFlags([...rest, '--seed', String(first)]).catch((e: Error) => {
    throw new Error(e.message.replace(/^train:/, 'ablation:'));
  });
  const seeds = Array.from({ length: count }, (_, k) => first + k);
  const gpu = await Gpu.create();
  try {
    let progress = new ProgressLine('ablation');
    let lastLoss = NaN;
    const result = await runAblation(gpu, {
      base: { ...base, splitSeed: first }, settings, seeds, out: base.out,
      onRun: (i, total, setting, seed) => {
        progress = new ProgressLine(`run ${i + 1}/${total} ${setting.id} seed ${seed}`);
        lastLoss = NaN;
      },
      onProgress: (p) => {
        if (p.loss !== null) lastLoss = p.loss;
        progress.update(p.step, p.steps, `loss ${Number.isNaN(lastLoss) ? '–' : lastLoss.toFixed(4)}`, p.etaSeconds);
      },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const markdown = await writeAblation(base.out, result);
    return `${markdown}\nfiles in ${base.out}/: ablation.md, ablation.json, ablation.svg, runs/<setting>-seed<k>/`;
  } finally {
    gpu.destroy();
  }
}
