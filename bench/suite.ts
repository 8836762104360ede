// Runs the selected cases: the single ops on one GPU context, each followed at once by its tfjs
// counterpart; then each model case on a fresh context; then PyTorch on the CPU, once nothing else
// runs. Returns the report (bench/report.ts); a case that fails is recorded with its error.

import { Gpu } from '../src/index.js';
import { selectCases, type BenchCase } from './cases.js';
import { prepareKernel, type KernelCase, type Prepared } from './kernels.js';
import { runModelCase, type ModelCase } from './models.js';
import { loadTfjs, type TfjsPeer } from './peers/tfjs.js';
import { runTorch, torchRuns, type PeerSamples } from './peers/torch.js';
import { gitCommit, machineInfo, SCHEMA, type BenchReport, type CaseResult, type PeerResult } from './report.js';
import { bytes } from './table.js';
import { judgeTargets } from './targets.js';
import { measure, median, type Timing, type TimingPolicy } from './timing.js';

export interface SuiteOptions {
  /** --cases patterns; empty for the default selection. */
  patterns: string[];
  policy: TimingPolicy;
  peers: boolean;
  /** Progress, one line per measurement. */
  log(line: string): void;
}

function emptyResult(c: BenchCase): CaseResult {
  return {
    name: c.name, group: c.name.split(':')[0], shape: c.shape, slowOnCpu: c.slowOnCpu, firstMs: null, samplesMs: [],
    medianMs: null, flops: c.flops, gflops: null, peers: {}, memory: null, error: null,
  };
}

function withTiming(r: CaseResult, t: Timing): void {
  r.firstMs = t.firstMs;
  r.samplesMs = t.samplesMs;
  r.medianMs = t.medianMs;
  r.gflops = r.flops === null ? null : r.flops / (t.medianMs * 1e6);
}

function peerResult(ours: CaseResult, s: PeerSamples): PeerResult {
  const medianMs = median(s.samplesMs);
  return { ...s, medianMs, ratio: ours.medianMs === null ? null : medianMs / ours.medianMs };
}

/** Times a prepared case, then frees its operands. */
async function timePrepared(prepared: Prepared, policy: TimingPolicy): Promise<Timing> {
  try {
    return await measure(() => prepared.step(), policy);
  } finally {
    prepared.dispose();
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const describe = (t: Timing) => `${t.medianMs.toFixed(1)} ms (n=${t.samplesMs.length})`;

async function timeKernels(gpu: Gpu, cases: KernelCase[], tfjs: TfjsPeer | null, o: SuiteOptions, results: Map<string, CaseResult>) {
  for (const c of cases) {
    const r = results.get(c.name)!;
    try {
      const t = await timePrepared(prepareKernel(gpu, c), o.policy);
      withTiming(r, t);
      o.log(`${c.name}: ${describe(t)}`);
    } catch (e) {
      r.error = message(e);
      o.log(`${c.name}: failed: ${r.error}`);
    }
    gpu.pool.trim();
    if (r.error || !tfjs) continue;
    try {
      const prepared = tfjs.prepare(c);
      if (!prepared) continue;
      const t = await timePrepared(prepared, o.policy);
      r.peers['tfjs-webgpu'] = peerResult(r, t);
      o.log(`tfjs ${c.name}: ${describe(t)}`);
    } catch (e) {
      r.peers['tfjs-webgpu'] = { error: message(e) };
      o.log(`tfjs ${c.name}: failed: ${message(e)}`);
    }
  }
}

async function timeModels(cases: ModelCase[], maxBinding: number, o: SuiteOptions, results: Map<string, CaseResult>, notes: string[]) {
  for (const c of cases) {
    const r = results.get(c.name)!;
    try {
      const m = await runModelCase(c, o.policy);
      if (m.timing) withTiming(r, m.timing);
      r.memory = {
        peakBytes: m.peakBytes, heldBytes: m.heldBytes, countOnly: c.mode === 'memory', largestBindingBytes: m.largestBindingBytes,
        setupMs: m.setupMs, lowerBound: m.lowerBound,
      };
      if (m.largestBindingBytes !== null && m.largestBindingBytes > maxBinding) {
        notes.push(`${c.name}: a real step needs storage bindings of ${bytes(m.largestBindingBytes)}, over this adapter's ` +
          `maxStorageBufferBindingSize of ${bytes(maxBinding)}: it can be counted here but not run.`);
      }
      o.log(`${c.name}: ${m.timing ? `${describe(m.timing)}, first step ${(m.timing.firstMs / 1000).toFixed(1)} s, ` : ''}peak ${bytes(m.peakBytes)}`);
    } catch (e) {
      r.error = message(e);
      o.log(`${c.name}: failed: ${r.error}`);
    }
  }
}

/** A count-only peak must equal the real run's: say so when both ran and they differ. */
function checkCounts(results: CaseResult[]): string[] {
  return results.filter((r) => r.name.endsWith(':memory') && r.memory).flatMap((counted) => {
    const real = results.find((r) => r.name === counted.name.replace(/:memory$/, ':train'))?.memory;
    if (!real) return [];
    return real.peakBytes === counted.memory!.peakBytes
      ? [`${counted.name}: the count-only peak equals the real training step's (${bytes(real.peakBytes)}).`]
      : [`${counted.name}: the count-only peak ${bytes(counted.memory!.peakBytes)} DIFFERS from the real step's ${bytes(real.peakBytes)}.`];
  });
}

/**
 * On one GPU context: the machine's description, the cases (the default depends on the adapter)
 * and the single-op cases' timings, with tfjs's.
 */
async function runSingleOps(o: SuiteOptions, notes: string[]) {
  const gpu = await Gpu.create();
  try {
    const machine = machineInfo(gpu);
    const cases = selectCases(o.patterns, gpu.info.cpu);
    const results = new Map(cases.map((c) => [c.name, emptyResult(c)]));
    const kernels = cases.filter((c): c is KernelCase => c.kind !== 'model');
    let tfjs: TfjsPeer | null = null;
    if (o.peers && kernels.some((c) => c.kind === 'matmul' || c.kind === 'attention' || c.kind === 'conv')) {
      const loaded = await loadTfjs();
      if (typeof loaded === 'string') notes.push(loaded);
      else {
        tfjs = loaded;
        machine.runtime.tfjs = loaded.version;
        notes.push(loaded.note);
      }
    }
    await timeKernels(gpu, kernels, tfjs, o, results);
    return { machine, maxBinding: gpu.limits.maxStorageBufferBindingSize, cases, results };
  } finally {
    gpu.destroy();
  }
}

export async function runSuite(o: SuiteOptions): Promise<BenchReport> {
  const notes: string[] = [];
  const { machine, maxBinding, cases, results } = await runSingleOps(o, notes);
  await timeModels(cases.filter((c): c is ModelCase => c.kind === 'model'), maxBinding, o, results, notes);

  const forTorch = cases.filter(torchRuns).filter((c) => results.get(c.name)!.error === null);
  if (o.peers && forTorch.length > 0) {
    const torch = await runTorch(forTorch, o.policy, o.log);
    if (typeof torch === 'string') notes.push(torch);
    else {
      machine.runtime.torch = `${torch.version} (${torch.threads} threads)`;
      for (const [name, s] of Object.entries(torch.cases)) {
        const r = results.get(name)!;
        r.peers['torch-cpu'] = 'error' in s ? s : peerResult(r, s);
      }
    }
  }

  const list = [...results.values()];
  notes.push(...list.filter((r) => r.error).map((r) => `${r.name} failed: ${r.error}`));
  notes.push(...checkCounts(list));
  return {
    schema: SCHEMA,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine,
    options: { cases: o.patterns, policy: o.policy, peers: o.peers },
    cases: list,
    targets: judgeTargets(list),
    notes,
  };
}
