// The ablation as markdown: per setting the score of every seed and mean ± sd, the paired
// differences with their t statistic and verdict, and what the run says about the paper's
// ordering (inflated pre-trained > w/o D > w/o T&D). Scores are printed in Dice points (%).

import type { AblationResult } from './run-node.js';
import type { PairedDifference, Summary } from './stats.js';

const pts = (v: number) => (100 * v).toFixed(1);
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${pts(Math.abs(v))}`;
const meanSd = (s: Summary, sign = false) => `${sign ? signed(s.mean) : pts(s.mean)} ± ${s.sd === null ? 'n/a' : pts(s.sd)}`;

function verdictText(d: PairedDifference): string {
  if (d.verdict === 'one seed') return 'one seed: cannot tell';
  const t = d.t === null ? 'n/a' : Number.isFinite(d.t) ? d.t.toFixed(2).replace('-', '−') : d.t > 0 ? '+∞' : '−∞';
  return `t = ${t} (|t| > ${d.tCritical!.toFixed(2)} is clear): ${d.verdict === 'clear' ? '**clear**' : 'within noise'}`;
}

/** The sentence on the paper's ordering; null when one of its three settings did not run. */
function orderingVerdict(r: AblationResult): string | null {
  const ids = ['inflated-centering', 'wo-d', 'wo-td'];
  const rows = ids.map((id) => r.settings.find((s) => s.id === id));
  if (rows.some((s) => !s)) return null;
  const [inflated, woD, woTD] = rows.map((s) => s!);
  const diff = (a: string, b: string) => r.comparisons.find((c) => c.a === a && c.b === b)!;
  const steps = [diff('inflated-centering', 'wo-d'), diff('wo-d', 'wo-td')];
  const holdsInMeans = inflated.summary.mean > woD.summary.mean && woD.summary.mean > woTD.summary.mean;
  const clear = steps.every((d) => d.verdict === 'clear' && d.mean > 0);
  const ranked = [inflated, woD, woTD].sort((a, b) => b.summary.mean - a.summary.mean).map((s) => `${s.name} ${pts(s.summary.mean)}`).join(' > ');
  const conclusion = !holdsInMeans
    ? 'The paper\'s ordering does **not** hold in this run\'s means.'
    : clear
      ? 'The paper\'s ordering **holds**, and both steps are clear of the seed-to-seed noise.'
      : 'The paper\'s ordering holds in the means, but not every step is clear of the seed-to-seed noise (see the verdicts above): this run cannot confirm it.';
  return `Ranked by mean: ${ranked}. ${conclusion}`;
}

export function ablationMarkdown(r: AblationResult): string {
  const name = (id: string) => r.settings.find((s) => s.id === id)!.name;
  const foreground = r.classes.slice(1);
  const ordering = orderingVerdict(r);
  return [
    `Score: ${r.metric}, in %, on the ${r.validationCases.length} validation case(s) (${r.validationCases.join(', ')}); ` +
      `seeds ${r.seeds.join(', ')} (each seed sets the initialisation, sample order, augmentation and dropout; the data are the same).`,
    '',
    `| setting | ${r.seeds.map((s) => `seed ${s}`).join(' | ')} | mean ± sd | ${foreground.map((c) => `${c} mean ± sd`).join(' | ')} |`,
    `|---|${r.seeds.map(() => '---|').join('')}---|${foreground.map(() => '---|').join('')}`,
    ...r.settings.map((s) =>
      `| ${s.name} | ${s.scores.map(pts).join(' | ')} | ${meanSd(s.summary)} | ${s.perClass.slice(1).map((c) => meanSd(c)).join(' | ')} |`),
    '',
    'Paired differences (A − B, seed k against seed k), in Dice points; sd with divisor n − 1. A difference is called',
    'clear when the paired t statistic mean / (sd / √n) exceeds the two-sided 95 % critical value of Student\'s t',
    'with n − 1 degrees of freedom; otherwise it is within the seed-to-seed noise.',
    '',
    `| A − B | ${r.seeds.map((s) => `seed ${s}`).join(' | ')} | mean ± sd | verdict |`,
    `|---|${r.seeds.map(() => '---|').join('')}---|---|`,
    ...r.comparisons.map((d) =>
      `| ${name(d.a)} − ${name(d.b)} | ${d.differences.map(signed).join(' | ')} | ${meanSd(d, true)} | ${verdictText(d)} |`),
    '',
    ...(ordering ? [ordering, ''] : []),
  ].join('\n');
}
