// A small fixed slice of the fuzz suite (fuzz/README.md), so every `npm test` mutates real and
// library-written NIfTI, safetensors and model files: each attempt must end accepted or refused
// with an Error naming the file; never a TypeError/RangeError, an accepted corrupt gzip stream or
// a GPU leak. `npm run fuzz -- --count N` runs more, with time and memory bounds per attempt.
import { describe, expect, it } from 'vitest';
import { FORMATS, runAttempt, type Corpus } from '../fuzz/attempt.js';
import { haveSharedData, modelCorpus, niftiCorpus, safetensorsCorpus } from '../fuzz/corpus.js';
import { testGpu } from './helpers/gpu.js';

const COUNT = { nifti: 60, safetensors: 60, model: 40 } as const;
const NOTE = haveSharedData() ? '' : ' (../shared/data is absent: only library-written files are mutated)';

describe(`fuzz: seeded mutations end cleanly${NOTE}`, async () => {
  const gpu = await testGpu();
  const corpus: Corpus = { nifti: await niftiCorpus(), safetensors: safetensorsCorpus(), model: await modelCorpus(gpu), gpu };

  for (const format of FORMATS) {
    it(`${format}: seeds 1..${COUNT[format]}`, () => {
      const endings = new Map<string, number>();
      const failures: string[] = [];
      for (let seed = 1; seed <= COUNT[format]; seed++) {
        const r = runAttempt(format, seed, corpus);
        endings.set(r.ending, (endings.get(r.ending) ?? 0) + 1);
        if (r.ending !== 'accepted' && r.ending !== 'refused') failures.push(`seed ${seed} [${r.ending}] ${r.what}: ${r.detail}`);
      }
      expect(failures).toEqual([]);
      // Both endings occur: the mutations reach the readers' checks and also leave some files valid.
      expect(endings.get('refused')).toBeGreaterThan(0);
      expect(endings.get('accepted')).toBeGreaterThan(0);
    });
  }
});
