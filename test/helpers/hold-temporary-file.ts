// A child process for test/bad-input-cli.test.ts: installs the CLI's signal cleanup, starts an
// atomic write of the path given and holds it open (printing "writing") until it is killed.
import { installTemporaryFileCleanup, writeFileAtomically } from '../../src/io/atomic-write.js';

installTemporaryFileCleanup();
setInterval(() => {}, 1000); // stay alive until the signal
void writeFileAtomically(process.argv[2], async (file) => {
  await file.writeFile('the first half of a file');
  process.stdout.write('writing\n');
  await new Promise(() => {});
});
