// One table per command: its flags (name, value placeholder, default, one-line meaning). The same
// table parses the command line, prints `transseg <command> --help` and generates the flag tables
// of docs/cli.md (src/cli/cli-docs.ts), so the three cannot drift apart.
//
// Adding a flag is one row in its command's table; adding a command is one entry in
// src/cli/commands.ts. See docs/cli.md, "Adding a flag or a command".

export interface Flag {
  /** Without the leading `--`. */
  readonly name: string;
  /** The value's placeholder in help (`FILE`, `N`, `MIN,MAX`); absent for a switch. */
  readonly value?: string;
  /** The value the parser fills in when the flag is absent (and help and the docs show). */
  readonly default?: string;
  /** The default as help shows it when the code decides it elsewhere ("the checkpoint's"). */
  readonly shownDefault?: string;
  /** One line: what the flag means. */
  readonly help: string;
  /** A heading the flag is listed under, in help and in the docs. */
  readonly group?: string;
  /** The flag may be given several times; its values are collected in order. */
  readonly multiple?: boolean;
}

export interface Positional {
  readonly name: string;
  readonly help: string;
}

export interface CommandSpec<F extends readonly Flag[] = readonly Flag[]> {
  readonly name: string;
  /** A few words, for `transseg help`. */
  readonly summary: string;
  /** What the command does, for `transseg <name> --help`. */
  readonly description: string;
  /** What follows `transseg <name>` in the usage line. */
  readonly synopsis: string;
  readonly positionals?: readonly Positional[];
  readonly flags: F;
}

/** The parsed values, typed from the table: a string (or list) per value flag, a boolean per switch. */
export type FlagValues<F extends readonly Flag[]> = {
  [K in F[number] as K['name']]: K extends { value: string }
    ? K extends { multiple: true } ? string[] | undefined
      : K extends { default: string } ? string : string | undefined
    : boolean | undefined;
};

export interface Parsed<F extends readonly Flag[]> {
  values: FlagValues<F>;
  positionals: string[];
}

/** Flags every command takes; main.ts acts on them before the command runs. */
export const COMMON_FLAGS = [
  { name: 'help', help: 'show this help and exit' },
  { name: 'verbose', help: "also show the WebGPU driver's own warnings (Dawn's), and stack traces of errors" },
] as const satisfies readonly Flag[];

/** Typed identity: keeps the flag names as literal types so `values` is checked against the table. */
export function defineCommand<const F extends readonly Flag[]>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The closest of `known` to `word` when it is close enough to be a typo (or a prefix), else null. */
export function closest(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 4) + 1) ? best : null;
}

export function unknownFlagMessage(command: string, flag: string, known: readonly string[]): string {
  const guess = closest(flag, known);
  return `${command}: unknown option '--${flag}'${guess ? `; did you mean '--${guess}'?` : ''} (transseg ${command} --help lists them)`;
}

/**
 * Parses `argv` by the command's table. A value flag takes the next argument whatever it looks
 * like, so `--lr -1e-3` passes the number on to the command's range check; only a flag of this
 * command in that place counts as a missing value. `--name=value` works too.
 */
export function parseFlags<F extends readonly Flag[]>(spec: CommandSpec<F>, argv: readonly string[]): Parsed<F> {
  const flags = new Map<string, Flag>([...spec.flags, ...COMMON_FLAGS].map((f) => [f.name, f]));
  const values: Record<string, string | string[] | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === '-h') {
      values.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new Error(`${spec.name}: unknown option '${arg}' (options are spelled --name; transseg ${spec.name} --help lists them)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = flags.get(name);
    if (!flag) throw new Error(unknownFlagMessage(spec.name, name, [...flags.keys()]));
    if (flag.value === undefined) {
      if (eq >= 0) throw new Error(`${spec.name}: --${name} is a switch and takes no value, got '${arg}'`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && flags.has(next.slice(2).split('=')[0]))) {
        throw new Error(`${spec.name}: --${name} needs a value (${flag.value})`);
      }
      value = next;
      i++;
    }
    if (flag.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else values[name] = value;
  }
  const allowed = spec.positionals?.length ?? 0;
  if (positionals.length > allowed && !values.help) {
    const extra = positionals[allowed];
    throw new Error(`${spec.name}: unexpected argument '${extra}'${allowed === 0 ? ' (this command takes only --options)' : ''}`);
  }
  for (const f of spec.flags) if (values[f.name] === undefined && f.default !== undefined) values[f.name] = f.default;
  return { values: values as FlagValues<F>, positionals };
}

/** `--name VALUE` as help and the docs show it. */
export function flagLabel(f: Flag): string {
  return f.value === undefined ? `--${f.name}` : `--${f.name} ${f.value}`;
}

/** The default as help and the docs show it ('' for none). */
export function shownDefault(f: Flag): string {
  return f.shownDefault ?? f.default ?? '';
}

/** The flags in table order, grouped by their `group` (ungrouped first), groups in first-seen order. */
export function groupFlags(flags: readonly Flag[]): { group: string | undefined; flags: Flag[] }[] {
  const groups = new Map<string | undefined, Flag[]>();
  for (const f of flags) {
    if (!groups.has(f.group)) groups.set(f.group, []);
    groups.get(f.group)!.push(f);
  }
  return [...groups].map(([group, list]) => ({ group, flags: list }));
}

/** Word-wraps `text` to `width` columns, continuation lines indented by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width - indent) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** `transseg <command> --help`. */
export function formatHelp(spec: CommandSpec, width = 100): string {
  const out = [`usage: transseg ${spec.name} ${spec.synopsis}`, '', wrap(spec.description, width, 0)];
  const labelWidth = Math.min(32, Math.max(...[...spec.flags, ...COMMON_FLAGS].map((f) => flagLabel(f).length), ...(spec.positionals ?? []).map((p) => p.name.length)) + 2);
  const row = (label: string, text: string) => {
    const head = `  ${label}`;
    const pad = head.length + 2 > labelWidth + 2 ? `${head}\n${' '.repeat(labelWidth + 2)}` : head.padEnd(labelWidth + 2);
    return `${pad}${wrap(text, width, labelWidth + 2)}`;
  };
  if (spec.positionals?.length) {
    out.push('', 'arguments:');
    for (const p of spec.positionals) out.push(row(p.name, p.help));
  }
  for (const { group, flags } of groupFlags(spec.flags)) {
    out.push('', `${group ?? 'options'}:`);
    for (const f of flags) {
      const d = shownDefault(f);
      out.push(row(flagLabel(f), d ? `${f.help} (default: ${d})` : f.help));
    }
  }
  out.push('', 'common options:');
  for (const f of COMMON_FLAGS) out.push(row(flagLabel(f), f.help));
  return out.join('\n');
}
