// Measured errors of every kernel check, collected across test files and printed as one table at
// the end of the run (test/global-setup.ts), so the numbers in notes come from the suite itself.
import { appendFileSync } from 'node:fs';
import { errorLogPath } from './error-log-path.js';

export function reportError(kernel: string, check: string, maxAbsError: number, maxRelError: number): void {
  appendFileSync(errorLogPath(), JSON.stringify({ kernel, check, maxAbsError, maxRelError }) + '\n');
}
