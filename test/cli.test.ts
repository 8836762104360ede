// The checkpoint commands, called as the CLI calls them (argument lists in, text out).
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../src/cli/classify.js';
import { inflate } from '../src/cli/inflate.js';
import { inspect } from '../src/cli/inspect.js';
import { encodePng } from '../src/io/png.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { drawDigit } from './helpers/digits.js';

const WEIGHTS = new URL('../../shared/data/weights/vit4mnist/vit4mnist.safetensors', import.meta.url).pathname;
const present = existsSync(WEIGHTS);
const dir = mkdtempSync(join(tmpdir(), 'transseg-cli-'));

describe.skipIf(!present)(`transseg commands on vit4mnist${present ? '' : ' (skipped: ../shared/data is absent)'}`, () => {
  it('classify prints the right digit as JSON for every digit 0–9', async () => {
    for (let digit = 0; digit < 10; digit++) {
      const png = join(dir, `digit${digit}.png`);
      writeFileSync(png, await encodePng({ width: 28, height: 28, channels: 1, data: drawDigit(digit) }));
      const out = JSON.parse(await classify(['--weights', WEIGHTS, '--preset', 'vit4mnist', '--image', png, '--top', '3']));
      expect(out.top).toHaveLength(3);
      expect(out.top[0].class, `digit ${digit}`).toBe(digit);
      expect(out.logits).toHaveLength(10);
      expect(out.format).toBe('vit-pytorch');
    }
  });

  it('inspect reports the format, size and name map', async () => {
    const report = JSON.parse(await inspect([WEIGHTS, '--preset', 'vit4mnist', '--json']));
    expect(report.format).toBe('vit-pytorch');
    expect(report.parameters).toBe(213_642);
    expect(report.mapping).toContainEqual(expect.objectContaining({ from: 'transformer.layers.0.0.fn.fn.to_qkv.weight', to: 'blocks.0.attn.qkv.weight' }));
  });

  it('inflate writes a 3-D encoder that inspect reads back', async () => {
    const out = join(dir, 'mnist3d.safetensors');
    const message = await inflate(['--weights', WEIGHTS, '--preset', 'vit4mnist', '--out', out, '--depth', '3', '--method', 'inflation', '--image-size', '42']);
    expect(message).toMatch(/patch embedding \[64, 1, 3, 7, 7\] by inflation, 42×42 input \(36 tokens\)/);
    const file = await readSafetensorsFile(out);
    expect(file.tensors.get('patch_embed.proj.weight')!.shape).toEqual([64, 1, 3, 7, 7]);
    expect(file.tensors.get('pos_embed')!.shape).toEqual([1, 37, 64]);
    expect(file.tensors.has('head.fc1.weight')).toBe(false);
    const report = JSON.parse(await inspect([out, '--json']));
    expect(report.kind).toBe('encoder');
    expect(report.config.depthSlices).toBe(3);
  });

  it('bad arguments fail clearly and write nothing', async () => {
    const out = join(dir, 'never.safetensors');
    await expect(inflate(['--weights', WEIGHTS, '--preset', 'vit4mnist', '--out', out, '--method', 'average'])).rejects.toThrow(/--method must be 'centering' or 'inflation'/);
    await expect(inflate(['--weights', WEIGHTS, '--preset', 'vit4mnist', '--out', out, '--image-size', '30'])).rejects.toThrow(/not divisible by the patch size 7/);
    await expect(inflate(['--weights', WEIGHTS, '--out', out])).rejects.toThrow(/heads: the weights do not tell it/);
    await expect(classify(['--weights', WEIGHTS, '--preset', 'vit4mnist', '--image', join(dir, 'missing.png')])).rejects.toThrow(/cannot read --image .*missing.png \(ENOENT\)/);
    await expect(inspect([join(dir, 'nothing.safetensors')])).rejects.toThrow(/nothing.safetensors/);
    expect(readdirSync(dir).filter((f) => f.startsWith('never'))).toEqual([]);
  });
});
