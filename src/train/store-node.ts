// A training run's folder (Node): best.safetensors and last.safetensors (model files `transseg
// predict` reads), trainer-state.safetensors (AdamW moments and the step, for --resume),
// metrics.jsonl (one JSON record per log line) and curves.svg (loss and validation Dice).

import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import type { SegmenterFileHeader } from '../model/model-file.js';
import { segmenterFileContents } from '../model/segmenter-file.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { curvesSvg } from './plot.js';
import type { LogRecord, TrainerState, TrainerStore } from './trainer.js';

export class RunFolder implements TrainerStore {
  private readonly records: LogRecord[] = [];

  constructor(readonly dir: string, private readonly header: SegmenterFileHeader) {}

  get statePath(): string {
    return join(this.dir, 'trainer-state.safetensors');
  }

  async saveModel(name: 'best' | 'last', weights: Map<string, HostTensor>, step: number): Promise<void> {
    const header = { ...this.header, provenance: { ...this.header.provenance, step } };
    const { tensors, metadata } = segmenterFileContents(header, weights);
    await writeSafetensorsFile(join(this.dir, `${name}.safetensors`), tensors, metadata);
  }

  async saveState(state: TrainerState): Promise<void> {
    const tensors: [string, HostTensor][] = [];
    state.optimizer.expAvg.forEach((m, i) => tensors.push([`exp_avg.${i}`, { shape: [m.length], data: m }]));
    state.optimizer.expAvgSq.forEach((v, i) => tensors.push([`exp_avg_sq.${i}`, { shape: [v.length], data: v }]));
    await writeSafetensorsFile(this.statePath, tensors, {
      step: String(state.step),
      optimizerStep: String(state.optimizer.step),
      best: JSON.stringify(state.best),
    });
  }

  async readState(): Promise<TrainerState> {
    const file = await readSafetensorsFile(this.statePath);
    const count = [...file.tensors.keys()].filter((k) => k.startsWith('exp_avg.')).length;
    const moment = (name: string) => {
      const t = file.tensors.get(name);
      if (!t) throw new Error(`${this.statePath}: missing tensor ${name}`);
      return t.data;
    };
    const step = Number(file.metadata.step);
    if (!Number.isInteger(step)) throw new Error(`${this.statePath}: __metadata__.step is not an integer`);
    return {
      step,
      optimizer: {
        step: Number(file.metadata.optimizerStep),
        expAvg: Array.from({ length: count }, (_, i) => moment(`exp_avg.${i}`)),
        expAvgSq: Array.from({ length: count }, (_, i) => moment(`exp_avg_sq.${i}`)),
      },
      best: JSON.parse(file.metadata.best ?? 'null'),
    };
  }

  /**
   * Keeps the metrics log consistent with a resumed state: records after `step` (written after the
   * last checkpoint by the run that stopped) are dropped, the rest are kept for the plot.
   */
  async resumeLog(step: number): Promise<void> {
    const path = join(this.dir, 'metrics.jsonl');
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    const kept = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord).filter((r) => r.step <= step);
    this.records.push(...kept);
    await writeFile(path, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  async log(record: LogRecord): Promise<void> {
    this.records.push(record);
    await appendFile(join(this.dir, 'metrics.jsonl'), JSON.stringify(record) + '\n');
    if (record.kind === 'validation') {
      const svg = curvesSvg({
        train: this.records.flatMap((r) => (r.kind === 'train' ? [{ step: r.step, loss: r.loss }] : [])),
        validation: this.records.flatMap((r) => (r.kind === 'validation' ? [{ step: r.step, meanDice: r.meanDice }] : [])),
      });
      await writeFileAtomically(join(this.dir, 'curves.svg'), (file) => file.writeFile(svg));
    }
  }
}
