// Reverse-mode autograd as a tape. Every op that sees an input needing a gradient appends an entry:
// its inputs, its output (or outputs), the tensors its backward rule needs (retained, so scopes
// cannot free them), and the rule itself. The tape is in execution order, so walking it backwards
// visits each op after every op that consumed its outputs. `backward()` consumes the whole tape and releases
// everything it saved, so GPU memory held for backward is freed deterministically.

import { Tensor } from '../tensor/tensor.js';
import { keep, scope } from '../tensor/scope.js';
import type { BackwardRule, MultiBackwardRule, TapeEntry } from '../tensor/tape-entry.js';
import { addGradients } from './accumulate.js';

let tape: TapeEntry[] = [];
let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with recording off (inference, optimiser updates, backward rules themselves). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad || t.gradFn !== null;
}

/** True when an op with these inputs must record itself. */
export function shouldRecord(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some(needsGrad);
}

export interface RecordSpec {
  op: string;
  inputs: Tensor[];
  output: Tensor;
  /** Tensors the backward rule reads; retained until the entry is consumed. */
  save?: Tensor[];
  backward: BackwardRule;
}

/** Appends an entry if any input needs a gradient; returns the output for chaining. */
export function record(spec: RecordSpec): Tensor {
  const { backward } = spec;
  // The tape calls a rule only when some output's gradient exists: here, the one output's.
  recordMany({ ...spec, outputs: [spec.output], backward: ([g], saved) => backward(g!, saved) });
  return spec.output;
}

export interface RecordManySpec {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  save?: Tensor[];
  backward: MultiBackwardRule;
}

/**
 * `record` for an op with several outputs: one entry, so the rule gets all their gradients at once
 * (a split writes them into one buffer instead of each part's gradient being summed in whole).
 */
export function recordMany(spec: RecordManySpec): Tensor[] {
  if (!shouldRecord(spec.inputs)) return spec.outputs;
  const entry: TapeEntry = {
    op: spec.op,
    inputs: spec.inputs,
    outputs: spec.outputs,
    saved: (spec.save ?? []).map((t) => t.retain()),
    backward: spec.backward,
  };
  for (const output of spec.outputs) output.gradFn = entry;
  tape.push(entry);
  return spec.outputs;
}

export function tapeLength(): number {
  return tape.length;
}

function release(entry: TapeEntry): void {
  for (const t of entry.saved) t.dispose();
  entry.saved.length = 0;
  for (const output of entry.outputs) if (output.gradFn === entry) output.gradFn = null;
}

/** Drops the tape without computing gradients (e.g. after a forward pass that will not be trained). */
export function clearTape(): void {
  for (const entry of tape) release(entry);
  tape = [];
}

/**
 * Computes gradients of `output` (a one-element tensor, or any tensor with an explicit
 * `gradOutput`) with respect to every leaf with requiresGrad, adding them into `leaf.grad`.
 */
export function backward(output: Tensor, gradOutput?: Tensor): void {
  if (!gradOutput && output.size !== 1) {
    throw new Error(`backward() needs a one-element output or an explicit gradient; got [${output.shape.join(', ')}]`);
  }
  if (!output.gradFn && !output.requiresGrad) {
    throw new Error(
      `backward(): the output [${output.shape.join(', ')}] does not depend on any tensor with requiresGrad ` +
        '(was it made under noGrad, or by a view that is not recorded — use reshape() from ops/shape, not reshapeView)?',
    );
  }
  const entries = tape;
  tape = [];
  try {
    scope(() =>
      noGrad(() => {
        const grads = new Map<Tensor, Tensor>();
        const seed = gradOutput ? gradOutput.retain() : Tensor.fromArray(output.gpu, [1], output.shape);
        if (output.gradFn) grads.set(output, seed);
        else if (output.requiresGrad) addToLeaf(output, seed);
        for (let i = entries.length - 1; i >= 0; i--) {
          const entry = entries[i];
          const gs = entry.outputs.map((output) => grads.get(output) ?? null);
          if (gs.some((g) => g)) {
            entry.outputs.forEach((output) => grads.delete(output));
            const inputGrads = entry.backward(gs, entry.saved);
            gs.forEach((g) => g?.dispose());
            entry.inputs.forEach((input, k) => {
              const gi = inputGrads[k];
              if (!gi) return;
              if (gi.shape.length !== input.shape.length || gi.shape.some((d, j) => d !== input.shape[j])) {
                throw new Error(
                  `autograd: ${entry.op} returned a gradient of shape [${gi.shape.join(', ')}] for an input of shape [${input.shape.join(', ')}]`,
                );
              }
              if (input.gradFn) {
                const existing = grads.get(input);
                grads.set(input, existing ? sum(existing, gi) : gi);
              } else if (input.requiresGrad) {
                addToLeaf(input, gi);
              } else {
                gi.dispose();
              }
            });
          }
          release(entry);
        }
        for (const g of grads.values()) g.dispose();
      }),
    );
  } finally {
    for (const entry of entries) release(entry);
  }
}

/** a + b out of place: two gradients may share one buffer, so in-place addition could alias. */
function sum(a: Tensor, b: Tensor): Tensor {
  const s = addGradients(a, b);
  a.dispose();
  b.dispose();
  return s;
}

function addToLeaf(leaf: Tensor, grad: Tensor): void {
  leaf.grad = keep(leaf.grad ? sum(leaf.grad, grad) : grad);
}
