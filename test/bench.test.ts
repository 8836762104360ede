// The benchmark's machinery on a tiny case: the JSON record's structure and the markdown table.
// Structure only; no speed is checked.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, selectCases } from '../bench/cases.js';
import type { BenchReport } from '../bench/report.js';
import { plan } from '../bench/timing.js';
import { bench } from '../bench/cli.js';

/** The markdown tables of a text: each a list of rows of trimmed cells, header first. */
function tables(text: string): string[][][] {
  const out: string[][][] = [];
  let current: string[][] | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      current = null;
      continue;
    }
    if (!current) out.push((current = []));
    current.push(line.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return out;
}

describe('bench', () => {
  it('runs a case, writes the JSON record and prints parseable tables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transseg-bench-'));
    const summary = await bench(['--cases', 'matmul:64', '--quick', '--no-peers', '--out', dir], () => {});

    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.json$/);
    const report = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as BenchReport;
    expect(report.schema).toBe('transseg-bench/1');
    expect(Number.isNaN(Date.parse(report.date))).toBe(false);
    expect(report.machine).toMatchObject({ cpu: expect.any(String), cores: expect.any(Number), adapter: expect.any(Object), runtime: expect.any(Object) });
    expect(report.options).toEqual({ cases: ['matmul:64'], policy: { warmup: 1, repeats: 2, budgetMs: 10_000 }, peers: false });

    expect(report.cases).toHaveLength(1);
    const c = report.cases[0];
    expect(c).toMatchObject({ name: 'matmul:64', group: 'matmul', shape: '[64, 64]·[64, 64]', flops: 2 * 64 ** 3, peers: {}, memory: null, error: null });
    expect(c.samplesMs).toHaveLength(2);
    expect(c.medianMs).toBeGreaterThan(0);
    expect(c.gflops).toBeCloseTo(c.flops! / (c.medianMs! * 1e6), 9);
    expect(report.targets.map((t) => t.case)).toEqual([
      'matmul:1024', 'attention:t1024:fwd+bwd', 'attention:t*-bias:fwd+bwd', 'model:vit-tiny:240:train', 'model:vit-base:512:memory',
    ]);
    expect(report.targets.every((t) => t.met === null)).toBe(true);

    const [cases, targets] = tables(summary);
    for (const t of [cases, targets]) {
      expect(t[1].every((cell) => /^-+$/.test(cell))).toBe(true);
      expect(t.every((row) => row.length === t[0].length)).toBe(true);
    }
    const row = Object.fromEntries(cases[0].map((h, i) => [h, cases[2][i]]));
    expect(cases).toHaveLength(3);
    expect(row.case).toBe('matmul:64');
    expect(row.n).toBe('2');
    expect(Number(row['median ms'])).toBeGreaterThan(0);
    expect(targets).toHaveLength(2 + 5);
  });

  it('selects cases by name, prefix and glob; by default all but the slow ones on a CPU adapter', () => {
    expect(selectCases([], false)).toEqual(CATALOGUE);
    const onCpu = selectCases([], true);
    expect(onCpu.every((c) => !c.slowOnCpu) && onCpu.length < CATALOGUE.length).toBe(true);
    expect(selectCases(['matmul:1024'], true).map((c) => c.name)).toEqual(['matmul:1024']);
    expect(selectCases(['model:vit-base:512'], true).map((c) => c.name)).toEqual(
      ['model:vit-base:512:forward', 'model:vit-base:512:train', 'model:vit-base:512:memory']);
    expect(selectCases(['attention:*-bias:fwd'], true).map((c) => c.name)).toEqual(['attention:t225-bias:fwd', 'attention:t1024-bias:fwd']);
    expect(selectCases(['matmul:3x5x7'], true)[0]).toMatchObject({ m: 3, k: 5, n: 7, flops: 210 });
    expect(() => selectCases(['matmull'], true)).toThrow(/--cases 'matmull' matches no case/);
    expect(new Set(CATALOGUE.map((c) => c.name)).size).toBe(CATALOGUE.length);
  });

  it('plans repeats within the time budget', () => {
    const policy = { warmup: 2, repeats: 5, budgetMs: 30_000 };
    expect(plan(100, policy)).toEqual({ warmups: 1, repeats: 5 });
    expect(plan(10_000, policy)).toEqual({ warmups: 0, repeats: 3 });
    expect(plan(60_000, policy)).toEqual({ warmups: 0, repeats: 1 });
  });
});
