// Clears the error log before the run and prints the table of measured errors after it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { errorLogPath } from './helpers/error-log-path.js';

export function setup(): void {
  // Tests import the TypeScript sources directly; make sure they see the current shaders/*.wgsl.
  execFileSync(process.execPath, ['scripts/embed-shaders.mjs'], { stdio: 'inherit' });
  process.env.TRANSSEG_RUN_ID ??= String(process.pid);
  rmSync(errorLogPath(), { force: true });
}

export function teardown(): void {
  const log = errorLogPath();
  if (!existsSync(log)) return;
  const rows = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const worst = new Map<string, { kernel: string; check: string; maxAbsError: number; maxRelError: number }>();
  for (const r of rows) {
    const key = `${r.kernel}\u0000${r.check}`;
    const w = worst.get(key);
    if (!w) worst.set(key, { ...r });
    else {
      w.maxAbsError = Math.max(w.maxAbsError, r.maxAbsError);
      w.maxRelError = Math.max(w.maxRelError, r.maxRelError);
    }
  }
  const lines = [...worst.values()]
    .sort((a, b) => a.kernel.localeCompare(b.kernel) || a.check.localeCompare(b.check))
    .map((r) => `| ${r.kernel} | ${r.check} | ${r.maxAbsError.toExponential(2)} | ${r.maxRelError.toExponential(2)} |`);
  rmSync(log, { force: true });
  console.log(['', 'Measured max errors (GPU f32 vs CPU f64 reference / finite differences):',
    '| kernel | check | max abs | max rel |', '|---|---|---|---|', ...lines].join('\n'));
}
