// `npm run bench [-- flags]`: the same as `transseg bench`; see docs/performance.md.
import { bench } from '../src/cli/bench.js';

bench(process.argv.slice(2)).then(
  (summary) => console.log(summary),
  (error: Error) => {
    console.error(`bench: ${error.message}`);
    process.exitCode = 1;
  },
);
