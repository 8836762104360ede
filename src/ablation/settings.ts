// The paper's ablation settings (Zhang et al. 2022, Table 3) as changes to one training run's
// options: everything else — data, model size, schedule, seeds — is the same for all of them.

import type { RunOptions } from '../train/setup-node.js';

export interface AblationSetting {
  /** Short id: run folder names, the --settings flag, the JSON. */
  id: string;
  /** The paper's name for it. */
  name: string;
  options: Pick<RunOptions, 'force2d' | 'pretrained' | 'method'>;
}

export const ABLATION_SETTINGS: readonly AblationSetting[] = [
  { id: 'inflated-centering', name: 'inflated pre-trained (centering)', options: { method: 'centering' } },
  { id: 'inflated-inflation', name: 'inflated pre-trained (inflation)', options: { method: 'inflation' } },
  { id: 'wo-d', name: 'w/o D (2-D, pre-trained)', options: { force2d: true } },
  { id: 'wo-td', name: 'w/o T&D (2-D, from scratch)', options: { force2d: true, pretrained: false } },
];

/**
 * The paired comparisons reported: [A, B] reads "A − B". The first three are the paper's ordering
 * (inflated pre-trained > w/o D > w/o T&D, and the two ends), the last centering against inflation.
 */
export const ABLATION_COMPARISONS: readonly (readonly [string, string])[] = [
  ['inflated-centering', 'wo-d'],
  ['wo-d', 'wo-td'],
  ['inflated-centering', 'wo-td'],
  ['inflated-centering', 'inflated-inflation'],
];

/** The settings named in a comma-separated list, in the canonical order; all four when absent. */
export function chooseSettings(list: string | undefined): AblationSetting[] {
  if (list === undefined) return [...ABLATION_SETTINGS];
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !ABLATION_SETTINGS.some((s) => s.id === id));
  if (unknown.length > 0 || ids.length === 0) {
    throw new Error(`ablation: --settings must list some of ${ABLATION_SETTINGS.map((s) => s.id).join(', ')}; got '${list}'`);
  }
  return ABLATION_SETTINGS.filter((s) => ids.includes(s.id));
}
