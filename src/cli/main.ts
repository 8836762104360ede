#!/usr/bin/env node
// The `transseg` command: src/cli/run.ts in this process, a GPU command in a child whose stderr is
// cleared of Dawn's native warnings (src/cli/dawn-log.ts) unless --verbose is given.

import { installTemporaryFileCleanup } from '../io/atomic-write.js';
import { FILTERED_ENV, runFilteringDawnLog } from './dawn-log.js';
import { runCli } from './run.js';

const args = process.argv.slice(2);
runCli(args, {
  stdout: (text) => console.log(text),
  stderr: (text) => console.error(text),
  runFiltered: () => (process.env[FILTERED_ENV] ? null : runFilteringDawnLog([process.argv[1], ...args])),
  beforeRun: installTemporaryFileCleanup, // a kill (Ctrl-C, SIGTERM) leaves no *.tmp file behind
}).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    console.error(`transseg: ${error.message}`);
    process.exitCode = 1;
  },
);
