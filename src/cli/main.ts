#!/usr/bin/env node
// The `transseg` command. Thin: parses arguments and calls the library.

import { doctor, formatDoctor } from './doctor.js';

const USAGE = `usage: transseg <command> [options]

commands:
  doctor [--json]   show the WebGPU runtime, adapter, features and limits, and run a self-test
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor': {
      const report = await doctor();
      console.log(rest.includes('--json') ? JSON.stringify(report, null, 2) : formatDoctor(report));
      return report.selfTest === 'passed' ? 0 : 1;
    }
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`transseg: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    console.error(`transseg: ${error.message}`);
    process.exitCode = 1;
  },
);
