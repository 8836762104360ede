import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One log per vitest run: the global setup names the run (its pid) before the test workers are
 * started, and the workers inherit the name, so concurrent runs never share a log.
 */
export function errorLogPath(): string {
  return join(tmpdir(), `transseg-test-errors-${process.env.TRANSSEG_RUN_ID ?? 'local'}.jsonl`);
}
