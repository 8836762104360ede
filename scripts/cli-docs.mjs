// Rewrites the flag tables of docs/cli.md from the commands' flag tables (src/cli/cli-docs.ts).
// Run through `npm run docs:cli`, which builds dist/ first.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderCliDocs } from '../dist/src/cli/cli-docs.js';

const path = new URL('../docs/cli.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = renderCliDocs(before);
if (after === before) console.log('docs/cli.md is up to date');
else {
  writeFileSync(path, after);
  console.log('docs/cli.md: flag tables rewritten');
}
