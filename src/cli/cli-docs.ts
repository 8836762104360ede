// The flag tables of docs/cli.md, generated from the commands' tables (src/cli/commands.ts).
// `npm run docs:cli` rewrites them; test/cli-help.test.ts fails when the file differs from what
// this makes, so the docs cannot drift from the parser.

import { COMMANDS } from './commands.js';
import { flagLabel, groupFlags, type CommandSpec } from './flag-table.js';

const BLOCK = /<!-- flags:([\w-]+) [^>]*-->\n[\s\S]*?<!-- \/flags -->/g;

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The markdown table of a command's flags, grouped as in its help. */
export function flagTableMarkdown(spec: CommandSpec): string {
  const rows = ['| flag | default | meaning |', '|---|---|---|'];
  const groups = groupFlags(spec.flags);
  for (const { group, flags } of groups) {
    if (group !== undefined && groups.length > 1) rows.push(`| **${group}** | | |`);
    for (const f of flags) {
      const shown = f.shownDefault ?? (f.default === undefined ? '' : `\`${f.default}\``);
      rows.push(`| \`${flagLabel(f)}\` | ${cell(shown)} | ${cell(f.help)} |`);
    }
  }
  return rows.join('\n');
}

function block(spec: CommandSpec): string {
  return `<!-- flags:${spec.name} generated from src/cli/${spec.name}.ts by \`npm run docs:cli\`; edit the table there -->\n${flagTableMarkdown(spec)}\n<!-- /flags -->`;
}

/** `markdown` (docs/cli.md) with every `<!-- flags:NAME … -->` block regenerated; each command must have one. */
export function renderCliDocs(markdown: string, commands: readonly { spec: CommandSpec }[] = COMMANDS): string {
  const seen = new Set<string>();
  const out = markdown.replace(BLOCK, (_, name: string) => {
    const command = commands.find((c) => c.spec.name === name);
    if (!command) throw new Error(`docs/cli.md: a flag table for '${name}', which is no command`);
    seen.add(name);
    return block(command.spec);
  });
  const missing = commands.filter((c) => !seen.has(c.spec.name)).map((c) => c.spec.name);
  if (missing.length > 0) {
    throw new Error(`docs/cli.md: no flag table for ${missing.join(', ')}; add a line '<!-- flags:NAME -->' and a line '<!-- /flags -->' under its section, then run npm run docs:cli`);
  }
  return out;
}
