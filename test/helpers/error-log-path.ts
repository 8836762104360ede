import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ERROR_LOG = join(tmpdir(), `transseg-test-errors-${process.env.TRANSSEG_RUN_ID ?? 'local'}.jsonl`);
