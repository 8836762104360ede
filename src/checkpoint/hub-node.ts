// `--weights` as a local path or an `hf:ORG/REPO[@revision][:file]` reference (Node only): a hub
// file is fetched into (or read from) the Hugging Face cache, with the repository's config.json
// (and, for transformers repositories, preprocessor_config.json) turned into settings.

import { readFile } from 'node:fs/promises';
import { hubFile, hubName, hubOptionsFromEnv, optionalHubFile, type HubOptions } from '../io/hub-node.js';
import type { VitConfig } from '../model/config.js';
import { hubSettings, isHubReference, parseHubReference } from './hub-config.js';

export interface ResolvedWeights {
  /** The file on disk. */
  path: string;
  /** A preset the repository names (timm's `architecture`). */
  preset?: string;
  /** What the repository's config states. */
  repository?: { config: Partial<VitConfig>; source: string };
}

export interface ResolveOptions {
  /** Read the cache only; HF_HUB_OFFLINE=1 does the same. */
  offline?: boolean;
  /** Download progress, bytes. */
  onProgress?: (done: number, total: number) => void;
  /** Overrides of the environment's hub settings (HF_ENDPOINT, HF_HOME, HF_TOKEN). */
  hub?: Partial<HubOptions>;
}

async function readJson(path: string | null, source: string): Promise<unknown> {
  if (path === null) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
}

export async function resolveWeights(weights: string, options: ResolveOptions = {}): Promise<ResolvedWeights> {
  if (!isHubReference(weights)) return { path: weights };
  const { repo, revision, file } = parseHubReference(weights);
  const env = hubOptionsFromEnv();
  const hub: HubOptions = { ...env, ...options.hub, offline: Boolean(options.offline || options.hub?.offline || env.offline) };
  const path = await hubFile({ repo, revision, file }, { ...hub, onProgress: options.onProgress });
  const configRef = { repo, revision, file: 'config.json' };
  const config = await readJson(await optionalHubFile(configRef, hub), hubName(configRef));
  if (config === null) return { path };
  const preprocessorRef = { ...configRef, file: 'preprocessor_config.json' };
  const transformers = typeof (config as { model_type?: unknown }).model_type === 'string';
  const preprocessor = transformers ? await readJson(await optionalHubFile(preprocessorRef, hub), hubName(preprocessorRef)) : null;
  const settings = hubSettings(config, preprocessor, hubName(configRef));
  return { path, preset: settings.preset, repository: { config: settings.config, source: hubName(configRef) } };
}
