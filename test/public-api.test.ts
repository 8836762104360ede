// The public surface of the package, pinned: every name each entry point exports (and each name
// of its namespaces), types included, read by the TypeScript compiler and compared with the
// committed list test/public-api.snapshot.txt. An export added or removed by accident fails here
// with a line diff; a deliberate change is recorded with `npx vitest run test/public-api.test.ts -u`
// (then review the diff of the snapshot file like any other change of the API).
// Also: web/, examples/ and bench/ use the library only through these entry points, and the main
// entry is runtime-neutral (no `node:` module reachable from it, type-only imports
// included, since a browser bundle or `tsc` without @types/node must not meet one).

import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { fileEdges, moduleSpecifiers, resolveSpecifier } from './helpers/import-graph.js';

const REPO = new URL('..', import.meta.url).pathname;

/** The package's entry points: package.json `exports` → source file. */
const ENTRIES: Record<string, string> = {
  '.': 'src/index.ts',
  './node': 'src/node.ts',
  './synthetic': 'src/synthetic/index.ts',
};

/** The same entry points, loaded (each a literal import, so vite resolves it). */
const LOAD: Record<string, () => Promise<unknown>> = {
  '.': () => import('../src/index.js'),
  './node': () => import('../src/node.js'),
  './synthetic': () => import('../src/synthetic/index.js'),
};

interface Surface {
  /** `entry` or `entry › namespace` → its sorted names, types marked `(type)`. */
  [section: string]: string[];
}

/** The exported names of every entry point and of every namespace it exports, from the compiler. */
function publicSurface(): Surface {
  const files = Object.values(ENTRIES).map((f) => REPO + f);
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    noLib: true, types: [], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const resolved = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const label = (s: ts.Symbol) => (resolved(s).flags & ts.SymbolFlags.Value ? s.name : `${s.name} (type)`);
  const surface: Surface = {};
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(REPO + file)!)!);
    surface[entry] = exports.map(label).sort();
    for (const s of exports) {
      const target = resolved(s);
      if (target.flags & ts.SymbolFlags.ValueModule) surface[`${entry} › ${s.name}`] = checker.getExportsOfModule(target).map(label).sort();
    }
  }
  return surface;
}

/** The surface as the snapshot file holds it: a heading per section, then one name a line. */
function surfaceText(surface: Surface): string {
  return Object.entries(surface).map(([section, names]) => `# ${section}\n${names.join('\n')}\n`).join('\n');
}

/** Every import of a Node built-in module reachable from `entry`, type-only imports included. */
function nodeImportsFrom(entry: string): { files: number; nodeImports: string[] } {
  const builtins = new Set(builtinModules);
  const seen = new Set<string>();
  const nodeImports: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of moduleSpecifiers(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = resolveSpecifier(file, specifier);
        if (target) visit(target);
      } else if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0])) {
        nodeImports.push(`${relative(REPO, file)} imports '${specifier}'`);
      }
    }
  };
  visit(REPO + entry);
  return { files: seen.size, nodeImports };
}

describe('public API', () => {
  const surface = publicSurface();

  it('exports exactly the names in test/public-api.snapshot.txt', async () => {
    await expect(surfaceText(surface)).toMatchFileSnapshot('./public-api.snapshot.txt');
  });

  it('exports at run time the values the compiler lists, namespaces included', async () => {
    for (const [entry, load] of Object.entries(LOAD)) {
      const loaded = (await load()) as Record<string, unknown>;
      const values = (names: string[]) => names.filter((n) => !n.endsWith(' (type)')).sort();
      expect(Object.keys(loaded).sort(), entry).toEqual(values(surface[entry]));
      for (const section of Object.keys(surface).filter((s) => s.startsWith(`${entry} › `))) {
        const namespace = loaded[section.slice(entry.length + 3)] as Record<string, unknown>;
        expect(Object.keys(namespace).sort(), section).toEqual(values(surface[section]));
      }
    }
  });

  it('keeps internals out of every entry point and namespace', () => {
    // Helpers only kernels and tests need; a sample that would show the old flat export again.
    const internals = ['record', 'coalesce', 'padDims', 'contiguousStrides', 'gunzip', 'uniforms', 'track', 'BufferPool', 'tapeLength'];
    const exported = new Set(Object.values(surface).flat());
    expect(internals.filter((n) => exported.has(n))).toEqual([]);
  });

  it('matches package.json exports, each with types and default under dist/', () => {
    const pkg = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    const expected = Object.fromEntries(Object.entries(ENTRIES).map(([entry, file]) => {
      const built = `./dist/${file.replace(/\.ts$/, '')}`;
      return [entry, { types: `${built}.d.ts`, default: `${built}.js` }];
    }));
    expect(pkg.exports).toEqual(expected);
  });

  it('reaches no Node module from the main entry (src/index.ts)', () => {
    const { files, nodeImports } = nodeImportsFrom('src/index.ts');
    expect(files).toBeGreaterThan(80); // the walk followed the re-exports into the library
    expect(nodeImports).toEqual([]);
  });

  it('is all that web/, examples/ and bench/ import from src/', () => {
    const entryFiles = new Set(Object.values(ENTRIES));
    const edges = fileEdges(REPO, ['web', 'examples', 'bench']).filter((e) => e.to.startsWith('src/'));
    expect(edges.length).toBeGreaterThan(10); // they do use the library
    expect(edges.filter((e) => !entryFiles.has(e.to)).map((e) => `${e.from} imports ${e.to}`)).toEqual([]);
  });

  it('finds the Node modules the Node entry reaches (the walk can fail)', () => {
    expect(nodeImportsFrom('src/node.ts').nodeImports).toContain("src/io/nifti-node.ts imports 'node:fs/promises'");
  });
});
