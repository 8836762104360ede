// The import graph of the repository's TypeScript, read with plain regular expressions (no
// compiler, no dependency): every `import … from`, `export … from`, side-effect `import '…'` and
// `import('…')` with a relative specifier, type-only imports included (a type-only loop is still
// a loop for a reader). Files are grouped into folders: src/<first folder> (src/index.ts is the
// folder "src"), and web, examples, bench as wholes. Tarjan's algorithm finds the strongly
// connected sets of folders; each with more than one folder is a cycle.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export interface FileEdge {
  from: string;
  to: string;
}

export interface FolderCycle {
  /** The folders of the cycle, sorted. */
  folders: string[];
  /** The file imports that go from one of its folders to another. */
  edges: FileEdge[];
}

const STATIC = /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function typescriptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'results' ? [] : typescriptFiles(path);
    return /\.ts$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : [];
  });
}

/** Every specifier a file imports: relative ones, packages, `node:` modules. */
export function moduleSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const re of [STATIC, BARE, DYNAMIC]) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

/** The relative specifiers a file imports. */
export function importSpecifiers(source: string): string[] {
  return moduleSpecifiers(source).filter((s) => s.startsWith('.'));
}

/** `./x.js` → x.ts (or x/index.ts), as tsc's NodeNext resolution does; null when nothing is there. */
export function resolveSpecifier(fromFile: string, specifier: string): string | null {
  const base = resolve(dirname(fromFile), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** The folder a repository file belongs to (see the top of the file). */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0];
  return parts.length > 2 ? `src/${parts[1]}` : 'src';
}

/** Every import between the repository files under `roots`, as paths relative to `repo`. */
export function fileEdges(repo: string, roots: readonly string[]): FileEdge[] {
  const edges: FileEdge[] = [];
  for (const file of roots.flatMap((r) => typescriptFiles(join(repo, r)))) {
    for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
      const target = resolveSpecifier(file, specifier);
      if (target && !relative(repo, target).startsWith('..')) edges.push({ from: relative(repo, file), to: relative(repo, target) });
    }
  }
  return edges;
}

/** The folder cycles of an import graph (strongly connected components of two or more folders). */
export function folderCycles(edges: readonly FileEdge[]): FolderCycle[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const [a, b] = [folderOf(from), folderOf(to)];
    if (!next.has(a)) next.set(a, new Set());
    if (!next.has(b)) next.set(b, new Set());
    if (a !== b) next.get(a)!.add(b);
  }
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return components
    .filter((c) => c.length > 1)
    .map((c) => {
      const folders = new Set(c);
      return {
        folders: [...folders].sort(),
        edges: edges.filter((e) => folders.has(folderOf(e.from)) && folders.has(folderOf(e.to)) && folderOf(e.from) !== folderOf(e.to)),
      };
    })
    .sort((a, b) => a.folders.join().localeCompare(b.folders.join()));
}

/** A cycle as the test prints it: the folders, then each import that takes part. */
export function describeCycle(cycle: FolderCycle): string {
  const lines = cycle.edges.map((e) => `    ${folderOf(e.from)} → ${folderOf(e.to)}: ${e.from} imports ${e.to}`);
  return [`  ${cycle.folders.join(' ⇄ ')}`, ...lines].join('\n');
}
