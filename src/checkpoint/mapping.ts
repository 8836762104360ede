// The bookkeeping every format adapter shares: canonical tensors built from a file's tensors, with
// a record of where each came from, so nothing is lost or renamed silently.

import type { HostTensor } from '../tensor/host-tensor.js';

/** One step of the name map, for `inspect`: one entry per (source, destination) pair. */
export interface MappingEntry {
  /** The name in the file. */
  from: string;
  /** The canonical name, or null when the tensor is dropped as irrelevant. */
  to: string | null;
  /** What happened besides a rename (rows of a concatenation, a layout change, why it was dropped). */
  note?: string;
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Claims source tensors one by one. What no rule claims is returned by `finish` as left over, for
 * the completeness check to report; timm layouts, whose names are the canonical ones, keep it
 * under its own name with `keepRest`.
 */
export class Renamer {
  private readonly out = new Map<string, HostTensor>();
  private readonly entries: MappingEntry[] = [];
  private readonly claimed = new Set<string>();
  /** Which source names produced each canonical name, to report collisions. */
  private readonly origin = new Map<string, string>();

  constructor(private readonly source: ReadonlyMap<string, HostTensor>, private readonly where: string) {}

  /** The source names, in file order. */
  get names(): string[] {
    return [...this.source.keys()];
  }

  /** A source tensor (claimed or not), or undefined. */
  get(name: string): HostTensor | undefined {
    return this.source.get(name);
  }

  /** Stores `to` = `transform(source tensor)` (a plain rename by default). */
  rename(from: string, to: string, note?: string, transform?: (t: HostTensor) => HostTensor): void {
    const t = this.take(from);
    this.put(to, transform ? transform(t) : { shape: [...t.shape], data: t.data }, [{ from, note }]);
  }

  /** Stores a tensor built from several sources (or copied from one into several places). */
  put(to: string, tensor: HostTensor, sources: { from: string; note?: string }[]): void {
    const from = sources.map((s) => s.from).join(' + ');
    const earlier = this.origin.get(to);
    if (earlier !== undefined) throw new Error(`${this.where}: both ${earlier} and ${from} map to '${to}'`);
    this.origin.set(to, from);
    for (const s of sources) {
      this.claimed.add(s.from);
      this.entries.push({ from: s.from, to, ...(s.note === undefined ? {} : { note: s.note }) });
    }
    this.out.set(to, tensor);
  }

  /** Marks a source tensor as known but unused by the model. */
  drop(from: string, why: string): void {
    this.take(from);
    this.entries.push({ from, to: null, note: `dropped: ${why}` });
  }

  /** Keeps every tensor not claimed so far under its own name. */
  keepRest(): void {
    for (const name of this.names) if (!this.claimed.has(name)) this.rename(name, name);
  }

  /** The canonical tensors, the name map, and the source tensors no rule claimed. */
  finish(): { tensors: Map<string, HostTensor>; mapping: MappingEntry[]; leftovers: [string, HostTensor][] } {
    const leftovers = [...this.source].filter(([name]) => !this.claimed.has(name));
    return { tensors: this.out, mapping: this.entries, leftovers };
  }

  private take(from: string): HostTensor {
    const t = this.source.get(from);
    if (!t) throw new Error(`${this.where}: no tensor '${from}'`);
    if (this.claimed.has(from)) throw new Error(`${this.where}: tensor '${from}' is used twice`);
    this.claimed.add(from);
    return t;
  }
}

/** Block indices named by `pattern` (its first group), as a sorted list. */
export function blockIndices(names: string[], pattern: RegExp): number[] {
  const found = new Set<number>();
  for (const n of names) {
    const m = pattern.exec(n);
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * Row-wise concatenation (q | k | v), or null when the parts' trailing dimensions differ: the
 * caller then leaves them unclaimed, for the completeness check to report.
 */
export function concatRows(parts: HostTensor[]): HostTensor | null {
  const tail = parts[0].shape.slice(1);
  if (parts.some((p) => p.shape.length !== tail.length + 1 || p.shape.slice(1).some((s, i) => s !== tail[i]))) return null;
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...tail], data };
}
