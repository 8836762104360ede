// The benchmark's record: what one run measured, as written to bench/results/<date>-<adapter>.json.

import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../src/index.js';
import { writeFileAtomically } from '../src/node.js';
import type { LowerBound } from './memory.js';
import type { TimingPolicy } from './timing.js';

export const SCHEMA = 'transseg-bench/1';
export const PEERS = ['tfjs-webgpu', 'torch-cpu'] as const;
export type PeerName = (typeof PEERS)[number];

export interface PeerResult {
  firstMs: number;
  samplesMs: number[];
  medianMs: number;
  /** The peer's median over ours: how many times faster we are (below 1: slower). */
  ratio: number | null;
}

export interface MemoryResult {
  /** The allocator's peak of live bytes (gpu.memory().peakLiveBytes). */
  peakBytes: number;
  /** Live plus pooled bytes at the end of the case. */
  heldBytes: number;
  /** Counted without running the kernels (see bench/models.ts). */
  countOnly: boolean;
  /** Count-only: the largest storage binding a kernel would have needed. */
  largestBindingBytes: number | null;
  /** Building the model, the optimiser and the batch. */
  setupMs: number;
  lowerBound: LowerBound | null;
}

export interface CaseResult {
  name: string;
  /** The part of the name before the first ':' (matmul, attention, conv, layernorm, softmax, model). */
  group: string;
  shape: string;
  /** Left out of the default run on a CPU adapter. */
  slowOnCpu: boolean;
  /** The first run (the time to the first step for a training case); null when nothing ran. */
  firstMs: number | null;
  samplesMs: number[];
  medianMs: number | null;
  flops: number | null;
  gflops: number | null;
  /** The peers that have this case; an error when the peer failed on it. */
  peers: Partial<Record<PeerName, PeerResult | { error: string }>>;
  memory: MemoryResult | null;
  error: string | null;
}

export interface Target {
  /** The case the target is judged on. */
  case: string;
  goal: string;
  /** What this run measured, in words. */
  measured: string;
  /** null when the run lacks a measurement the target needs. */
  met: boolean | null;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  adapter: Gpu['info']['adapter'];
  /** Kernels chose their CPU-adapter variants. */
  cpuKernels: boolean;
  /** The device's optional features ('subgroups' picks the fastest CPU kernels). */
  features?: string[];
  runtime: Record<string, string>;
}

export interface BenchReport {
  schema: typeof SCHEMA;
  date: string;
  commit: string | null;
  machine: Machine;
  options: { cases: string[]; policy: TimingPolicy; peers: boolean };
  cases: CaseResult[];
  targets: Target[];
  /** Skipped peers, count-only checks and other remarks. */
  notes: string[];
}

function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The version of the runtime this runs in (Deno and Bun also report a Node version they emulate). */
function runtimeVersion(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  return g.Deno?.version.deno ?? g.Bun?.version ?? process.versions.node;
}

export function machineInfo(gpu: Gpu): Machine {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryBytes: totalmem(),
    os: `${platform()} ${release()}`,
    adapter: gpu.info.adapter,
    cpuKernels: gpu.info.cpu,
    features: gpu.info.features,
    runtime: {
      [gpu.info.runtime]: runtimeVersion(),
      webgpu: gpu.info.backend === 'dawn' ? `dawn (webgpu ${packageVersion('webgpu')})` : `${gpu.info.runtime}'s own`,
    },
  };
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

/** `<dir>/<date>-<adapter>.json`, with -2, -3, ... when the day already has a run on that adapter. */
export async function writeReport(report: BenchReport, dir: string): Promise<string> {
  const a = report.machine.adapter;
  // The adapter's name without its version details ("llvmpipe: Mesa 25.0.7 (LLVM 15)" → llvmpipe).
  const name = (a.description || `${a.vendor} ${a.architecture}`).split(/[:(]/)[0];
  const adapter = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'adapter';
  const stem = `${report.date.slice(0, 10)}-${adapter}`;
  mkdirSync(dir, { recursive: true });
  let path = join(dir, `${stem}.json`);
  for (let i = 2; existsSync(path); i++) path = join(dir, `${stem}-${i}.json`);
  await writeFileAtomically(path, (file) => file.writeFile(`${JSON.stringify(report, null, 2)}\n`));
  return path;
}
