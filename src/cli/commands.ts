// Every `transseg` command: its flag table (help, parsing, docs/cli.md) and what runs it. Adding a
// command is one entry here; `transseg help`, `<command> --help` and the docs follow from it.

import { ABLATION_COMMAND, ablation } from './ablation.js';
import { CLASSIFY_COMMAND, classify } from './classify.js';
import { DOCTOR_COMMAND, doctorCommand } from './doctor.js';
import { EVALUATE_COMMAND, evaluate } from './evaluate.js';
import { EXPORT_COMMAND, exportModel } from './export.js';
import type { CommandSpec } from './flag-table.js';
import { INFLATE_COMMAND, inflate } from './inflate.js';
import { INSPECT_COMMAND, inspect } from './inspect.js';
import { PREDICT_COMMAND, predict } from './predict.js';
import { TRAIN_COMMAND, train } from './train.js';

export interface CommandOutput {
  /** Printed on stdout. */
  text: string;
  exitCode: number;
}

export interface CliCommand {
  spec: CommandSpec;
  /** Opens a WebGPU device: the driver's own warnings are filtered from its stderr (src/cli/dawn-log.ts). */
  usesGpu: boolean;
  run(argv: string[]): Promise<CommandOutput>;
}

/** A command whose result is its text, exit status 0. */
const printing = (run: (argv: string[]) => Promise<string>) => async (argv: string[]): Promise<CommandOutput> => ({ text: await run(argv), exitCode: 0 });

export const COMMANDS: readonly CliCommand[] = [
  { spec: DOCTOR_COMMAND, usesGpu: true, run: doctorCommand },
  { spec: INSPECT_COMMAND, usesGpu: false, run: printing(inspect) },
  { spec: CLASSIFY_COMMAND, usesGpu: true, run: printing(classify) },
  { spec: INFLATE_COMMAND, usesGpu: false, run: printing(inflate) },
  { spec: TRAIN_COMMAND, usesGpu: true, run: printing(train) },
  { spec: PREDICT_COMMAND, usesGpu: true, run: printing(predict) },
  { spec: EVALUATE_COMMAND, usesGpu: true, run: printing(evaluate) },
  { spec: ABLATION_COMMAND, usesGpu: true, run: printing(ablation) },
  { spec: EXPORT_COMMAND, usesGpu: false, run: printing(exportModel) },
];
