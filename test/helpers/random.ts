// Seeded random numbers for tests: the library's generators, so CPU and GPU see the same inputs.
export { rng, randn, uniform } from '../../src/util/random.js';
