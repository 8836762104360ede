// The ablation study (the `ablation` namespace of the Node entry): settings × seeds trained with
// the same recipe, mean ± sd, paired differences with a t-based rule, as Markdown and SVG.
export { runAblation, writeAblation, summariseAblation, ABLATION_METRIC, type AblationOptions, type AblationResult, type AblationRun } from './run-node.js';
export { ABLATION_SETTINGS, ABLATION_COMPARISONS, chooseSettings, type AblationSetting } from './settings.js';
export { pairedDifference, sampleSd, summarise, tCritical95, type PairedDifference, type Summary } from './stats.js';
export { ablationMarkdown } from './report.js';
export { ablationSvg } from './plot.js';
