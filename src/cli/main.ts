#!/usr/bin/env node
// The `transseg` command. Thin: parses arguments and calls the library.

import { classify } from './classify.js';
import { doctor, formatDoctor } from './doctor.js';
import { inflate } from './inflate.js';
import { inspect } from './inspect.js';

const USAGE = `usage: transseg <command> [options]

commands:
  doctor [--json]      the WebGPU runtime, adapter, features and limits, and a self-test
  inspect W [--json]   a checkpoint's format, model, parameter count and name map
  classify --weights W --image img.png [--top 5]
                       run a 2-D checkpoint's own classification head on a PNG (JSON out)
  inflate --weights W --out W3D.safetensors [--depth 5] [--in-channels 1]
          [--method centering|inflation] [--image-size 240] [--pos-interp bicubic|nearest]
                       turn a 2-D checkpoint into a 3-D TransSeg encoder
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
