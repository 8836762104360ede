// `transseg doctor`: what this machine offers — runtime, adapter, features, limits — and a
// one-matmul self-test, so a user can tell "no GPU driver" from "our bug" in one command.

import { Gpu } from '../gpu/gpu.js';
import { matmul } from '../ops/matmul.js';
import { Tensor } from '../tensor/tensor.js';
import { defineCommand, parseFlags } from './flag-table.js';

export const DOCTOR_COMMAND = defineCommand({
  name: 'doctor',
  summary: 'the WebGPU runtime, adapter, features and limits, and a self-test',
  description: 'The WebGPU runtime, adapter, features and the limits the library requested, then a one-matmul self-test (exit status 1 when it fails): tells "no GPU driver" from "our bug" in one command.',
  synopsis: '[--json]',
  flags: [{ name: 'json', help: 'print the report as JSON' }],
});

export interface DoctorReport {
  runtime: string;
  runtimeVersion: string;
  adapter: Gpu['info']['adapter'];
  features: string[];
  limits: Record<string, number>;
  selfTest: 'passed' | string;
}

function runtimeVersion(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string }; process?: { version: string } };
  return g.Deno?.version.deno ?? g.Bun?.version ?? g.process?.version ?? 'unknown';
}

export async function doctor(): Promise<DoctorReport> {
  const gpu = await Gpu.create();
  try {
    const a = Tensor.fromArray(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
    const b = Tensor.fromArray(gpu, [1, 0, 0, 1, 1, 1], [3, 2]);
    const c = await matmul(a, b).read();
    const expected = [4, 5, 10, 11];
    const ok = expected.every((v, i) => c[i] === v);
    return {
      runtime: gpu.info.runtime,
      runtimeVersion: runtimeVersion(),
      adapter: gpu.info.adapter,
      features: gpu.info.features,
      limits: gpu.info.limits,
      selfTest: ok ? 'passed' : `FAILED: a 2×3·3×2 matmul gave [${[...c].join(', ')}], expected [${expected.join(', ')}]`,
    };
  } finally {
    gpu.destroy();
  }
}

export function formatDoctor(r: DoctorReport): string {
  const adapter = [r.adapter.vendor, r.adapter.architecture, r.adapter.device, r.adapter.description].filter(Boolean).join(' / ');
  const mib = (n: number) => (n >= 1 << 20 ? `${n} (${(n / 2 ** 20).toFixed(0)} MiB)` : String(n));
  return [
    `runtime     ${r.runtime} ${r.runtimeVersion}`,
    `adapter     ${adapter || '(no description)'}`,
    `features    ${r.features.join(', ') || '(none)'}`,
    'limits',
    ...Object.entries(r.limits).map(([k, v]) => `  ${k.padEnd(36)} ${mib(v)}`),
    `self-test   ${r.selfTest}`,
  ].join('\n');
}

/** The command: the report as text or JSON, and exit status 1 when the self-test failed. */
export async function doctorCommand(argv: string[]): Promise<{ text: string; exitCode: number }> {
  const { values } = parseFlags(DOCTOR_COMMAND, argv);
  const report = await doctor();
  return { text: values.json ? JSON.stringify(report, null, 2) : formatDoctor(report), exitCode: report.selfTest === 'passed' ? 0 : 1 };
}
