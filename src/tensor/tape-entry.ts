// The record of one op on the autograd tape (src/autograd/tape.ts). A tensor holds the entry that
// made it (`gradFn`), so the type lives with the tensor: autograd depends on tensor, not back.

import type { Tensor } from './tensor.js';

/** The gradient of each input (null for none) from the gradient of the op's one output. */
export type BackwardRule = (gradOutput: Tensor, saved: Tensor[]) => (Tensor | null)[];

/**
 * The same for an op with several outputs (split): each output's gradient, null where none
 * reached it (at least one did). The rule is called once, after every consumer of every output.
 */
export type MultiBackwardRule = (gradOutputs: (Tensor | null)[], saved: Tensor[]) => (Tensor | null)[];

export interface TapeEntry {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly saved: Tensor[];
  readonly backward: MultiBackwardRule;
}
