// No import cycle between folders: src/<folder>, and web/, examples/, bench/ with src/. A cycle
// means two folders can only be understood (and tested, and moved) together. The graph is read
// from the import statements themselves (test/helpers/import-graph.ts), type-only imports included.
import { describe, expect, it } from 'vitest';
import { describeCycle, fileEdges, folderCycles, importSpecifiers } from './helpers/import-graph.js';

const REPO = new URL('..', import.meta.url).pathname;

/**
 * Cycles other branches remove, until they are merged: each entry is the sorted folder list of a
 * cycle and who removes it. The test fails when a cycle not listed here appears, and when a
 * listed one is gone (then delete its entry), so this list always says what is left.
 */
const KNOWN_CYCLES: { folders: string[]; removedBy: string }[] = [
];

describe('import graph', () => {
  it('reads every form of import statement', () => {
    const source = [
      "import { a } from './a.js';",
      "import type {\n  B,\n  C,\n} from '../b/c.js';",
      "export { d } from './d.js';",
      "export * from './e.js';",
      "import './side-effect.js';",
      "const f = await import('./f.js');",
      "import { readFile } from 'node:fs';",
      "// a comment that mentions from './not-an-import.js' is not an import",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.js', '../b/c.js', './d.js', './e.js', './side-effect.js', './f.js']);
  });

  it('finds a cycle between folders and names the imports that make it', () => {
    const cycles = folderCycles([
      { from: 'src/model/vit.ts', to: 'src/inflate/relative-position.ts' },
      { from: 'src/inflate/checkpoint.ts', to: 'src/model/pretrained.ts' },
      { from: 'src/train/trainer.ts', to: 'src/model/vit.ts' },
      { from: 'src/model/vit.ts', to: 'src/model/config.ts' },
    ]);
    expect(cycles).toEqual([{
      folders: ['src/inflate', 'src/model'],
      edges: [
        { from: 'src/model/vit.ts', to: 'src/inflate/relative-position.ts' },
        { from: 'src/inflate/checkpoint.ts', to: 'src/model/pretrained.ts' },
      ],
    }]);
    expect(describeCycle(cycles[0])).toContain('src/model → src/inflate: src/model/vit.ts imports src/inflate/relative-position.ts');
  });

  it('has no cycle between folders of src/, nor between src/ and web/, examples/, bench/', () => {
    const edges = fileEdges(REPO, ['src', 'web', 'examples', 'bench']);
    expect(edges.length).toBeGreaterThan(300); // the walk found the code
    const cycles = folderCycles(edges);
    const known = new Set(KNOWN_CYCLES.map((k) => k.folders.join()));
    const unexpected = cycles.filter((c) => !known.has(c.folders.join()));
    const gone = KNOWN_CYCLES.filter((k) => !cycles.some((c) => c.folders.join() === k.folders.join()));
    const message = [
      unexpected.length ? `import cycles between folders:\n${unexpected.map(describeCycle).join('\n')}` : '',
      gone.length ? `no longer cycles, delete them from KNOWN_CYCLES: ${gone.map((k) => k.folders.join(' ⇄ ')).join('; ')}` : '',
    ].filter(Boolean).join('\n');
    expect(message, message).toBe('');
  });
});
