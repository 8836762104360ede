#!/usr/bin/env node
// The `transseg` command. Thin: parses arguments and calls the library.

import { ablation } from './ablation.js';
import { bench } from './bench.js';
import { classify } from './classify.js';
import { doctor, formatDoctor } from './doctor.js';
import { evaluate } from './evaluate.js';
import { inflate } from './inflate.js';
import { inspect } from './inspect.js';
import { predict } from './predict.js';
import { train } from './train.js';

const USAGE = `usage: transseg <command> [options]

commands:
  doctor [--json]      the WebGPU runtime, adapter, features and limits, and a self-test
  inspect W [--json]   a checkpoint's format, model, parameter count and name map
  classify --weights W --image img.png [--top 5]
                       run a 2-D checkpoint's own classification head on a PNG (JSON out)
  inflate --weights W --out W3D.safetensors [--depth 5] [--in-channels 1]
          [--method centering|inflation] [--image-size 240] [--pos-interp bicubic|nearest]
                       turn a 2-D checkpoint into a 3-D TransSeg encoder
  train --dataset dataset.json --out DIR (--weights W | --no-pretrained --preset P) [--force-2d]
        [--steps 1000] [--batch-size 4] [--image-size S] [--intensity ct|clip:MIN,MAX|zscore|none]
        [--remap 1:1,2:1] [--loss dicefocal|dicece|ce] [--validate-every 500] [--resume] ...
                       fine-tune a segmenter; best/last checkpoints, metrics.jsonl, curves.svg
  predict --model M --input X --output Y [--probabilities P] [--batch-size 8]
          [--overlay DIR [--slices k1,k2,...|auto]]
                       segment a NIfTI file (or a,b for one file per modality), a folder of them
                       or a dataset.json's test cases; labels in each input's geometry
  evaluate --dataset dataset.json (--model M | --predictions DIR) [--split validation|training]
          [--remap 1:1,2:1] [--report r.json]
                       global and per-case Dice and HD95 (mm) per class on a labelled split
  ablation --dataset dataset.json --weights vit2d.safetensors --out DIR [--seeds 3] [--settings LIST] [train options]
                       the paper's settings × seeds; mean ± sd and paired differences, ablation.md/.json/.svg
  bench [--cases LIST] [--quick] [--repeats N] [--no-peers] [--out DIR]
                       time kernels and whole training steps against tfjs-webgpu and PyTorch;
                       writes bench/results/<date>-<adapter>.json, prints a markdown table
  Checkpoint options (inspect, classify, inflate): --format timm-vit|timm-beit|hf-vit|hf-beit|vit-pytorch
  (detected when absent), --preset NAME (e.g. vit_base_patch16_224, beit_base_patch16_224, vit4mnist),
  --config model.json (settings the weights cannot tell: heads, eps, ...). See docs/cli.md.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const report = await doctor();
      console.log(rest.includes('--json') ? JSON.stringify(report, null, 2) : formatDoctor(report));
      return report.selfTest === 'passed' ? 0 : 1;
    }
    case 'inspect':
      console.log(await inspect(rest));
      return 0;
    case 'classify':
      console.log(await classify(rest));
      return 0;
    case 'inflate':
      console.log(await inflate(rest));
      return 0;
    case 'train':
      console.log(await train(rest));
      return 0;
    case 'predict':
      console.log(await predict(rest));
      return 0;
    case 'evaluate':
      console.log(await evaluate(rest));
      return 0;
    case 'ablation':
      console.log(await ablation(rest));
      return 0;
    case 'bench':
      console.log(await bench(rest));
      return 0;
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`transseg: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    console.error(`transseg: ${error.message}`);
    process.exitCode = 1;
  },
);
