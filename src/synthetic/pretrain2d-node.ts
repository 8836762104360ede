// Saving the pre-trained 2-D ViT as a timm checkpoint (Node only): a safetensors file under
// timm's exact names, and beside it the model JSON for `--config`, so that `transseg inspect`
// detects it as timm-vit and `transseg classify` / `transseg inflate` can read it like any
// downloaded ImageNet checkpoint.

import { writeFileAtomically } from '../io/atomic-write.js';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import type { VisionTransformer } from '../model/vit.js';
import { timmModelJson, timmTensors } from './pretrain2d.js';

export interface TimmCheckpointFiles {
  /** The .safetensors file. */
  weights: string;
  /** The model JSON next to it (same name, .json). */
  config: string;
}

/** Writes `model` (2-D, with its head) to `path` (ending in .safetensors) and its model JSON. */
export async function saveTimmCheckpoint(model: VisionTransformer, path: string): Promise<TimmCheckpointFiles> {
  if (!path.endsWith('.safetensors')) throw new Error(`saveTimmCheckpoint: ${path}: the name must end in .safetensors`);
  const config = `${path.slice(0, -'.safetensors'.length)}.json`;
  // timm and Hugging Face mark their files {"format": "pt"}.
  await writeSafetensorsFile(path, await timmTensors(model), { format: 'pt' });
  await writeFileAtomically(config, (file) => file.writeFile(`${JSON.stringify(timmModelJson(model.config), null, 2)}\n`));
  return { weights: path, config };
}
