// Parsing of the flag values several commands share; every error names the command and the flag.

import type { LabelRemap } from '../data/dataset.js';

export function required<T>(value: T | undefined, flag: string, command: string): T {
  if (value === undefined) throw new Error(`${command}: --${flag} is required`);
  return value;
}

/** A flag's value as an integer ≥ 1. */
export function positiveInteger(value: string, flag: string, command: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${command}: --${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** `1:1,2:1,4:1` → {1: 1, 2: 1, 4: 1} (BRATS labels 1–4 → whole tumour). */
export function parseRemap(text: string, command: string): LabelRemap {
  const out: LabelRemap = {};
  for (const pair of text.split(',')) {
    const m = /^(\d+):(\d+)$/.exec(pair.trim());
    if (!m) throw new Error(`${command}: --remap takes FROM:TO pairs like 1:1,2:1,4:1; got '${pair}'`);
    out[Number(m[1])] = Number(m[2]);
  }
  return out;
}

/** `ct` (or another preset of src/data/intensity.ts), `clip:MIN,MAX`, `zscore` or `none`. */
