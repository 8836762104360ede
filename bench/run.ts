// `npm run bench [-- flags]`: the benchmark suite; see docs/performance.md.
import { bench } from './cli.js';

bench(process.argv.slice(2)).then(
  (summary) => console.log(summary),
  (error: Error) => {
    console.error(`bench: ${error.message}`);
    process.exitCode = 1;
  },
);
