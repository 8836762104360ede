// The record of one op on the autograd tape (src/autograd/tape.ts). A tensor holds the entry that
// made it (`gradFn`), so the type lives with the tensor: autograd depends on tensor, not back.

import type { Tensor } from './tensor.js';

export type BackwardRule = (gradOutput: Tensor, saved: Tensor[]) => (Tensor | null)[];

export interface TapeEntry {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly saved: Tensor[];
  readonly backward: BackwardRule;
}
