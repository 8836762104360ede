// The CLI's front door: one flag table per command drives the parser, `--help` and docs/cli.md;
// `help`, `--version`, errors without stack traces, and Dawn's native warnings kept off stderr.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCliDocs } from '../src/cli/cli-docs.js';
import { COMMANDS } from '../src/cli/commands.js';
import { DawnLogFilter, runFilteringDawnLog } from '../src/cli/dawn-log.js';
import { defineCommand, flagLabel, formatHelp, parseFlags } from '../src/cli/flag-table.js';
import { runCli } from '../src/cli/run.js';
import { train } from '../src/cli/train.js';

/** runCli with its output captured; GPU commands are never started here. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const DOCS = new URL('../docs/cli.md', import.meta.url);

describe('transseg help', () => {
  it('has the eight commands', () => {
    expect(COMMANDS.map((c) => c.spec.name)).toEqual(expect.arrayContaining(['doctor', 'inspect', 'classify', 'inflate', 'train', 'predict', 'evaluate', 'export']));
  });

  it('<command> --help and help <command> list every flag of the table, exit 0', async () => {
    for (const { spec } of COMMANDS) {
      const viaFlag = await cli(spec.name, '--help');
      const viaHelp = await cli('help', spec.name);
      expect(viaFlag.code, spec.name).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      expect(viaFlag.stdout).toMatch(new RegExp(`^usage: transseg ${spec.name} `));
      for (const f of spec.flags) expect(viaFlag.stdout, `${spec.name} ${f.name}`).toContain(flagLabel(f));
      expect(viaFlag.stdout).toContain('--verbose');
    }
    // -h anywhere among a command's arguments, even after a bad value, shows the help.
    expect((await cli('train', '--lr', 'x', '-h')).stdout).toContain('--val-fraction F');
  });

  it('train documents --dropout and --val-fraction with their defaults', () => {
    const help = formatHelp(COMMANDS.find((c) => c.spec.name === 'train')!.spec, 200);
    expect(help).toMatch(/--dropout P +UPerNet's Dropout2d probability.*\(default: 0\.1\)/);
    expect(help).toMatch(/--val-fraction F +without a validation list in dataset.json: the seeded fraction of training cases held out.*\(default: 0\.2\)/);
    expect(help).toMatch(/--lr LR .*\(default: 3e-5\)/);
  });

  it('help, --version, unknown commands', async () => {
    const help = await cli('help');
    expect(help.code).toBe(0);
    for (const { spec } of COMMANDS) expect(help.stdout).toContain(`  ${spec.name} `);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await cli('--version')).toMatchObject({ code: 0, stdout: pkg.version });
    const typo = await cli('trian');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^transseg: unknown command 'trian'; did you mean 'train'\?/);
    expect((await cli()).code).toBe(2);
  });

  it('docs/cli.md holds exactly the tables the commands generate (npm run docs:cli)', () => {
    const docs = readFileSync(DOCS, 'utf8');
    expect(renderCliDocs(docs), 'docs/cli.md is out of date: run npm run docs:cli').toBe(docs);
    for (const { spec } of COMMANDS) expect(docs).toContain(`<!-- flags:${spec.name} `);
  });

  it('a command without a table in the docs, or a table without a command, is an error', () => {
    const extra = { spec: defineCommand({ name: 'extra', summary: 's', description: 'd', synopsis: '', flags: [{ name: 'x', help: 'h' }] }) };
    const docs = readFileSync(DOCS, 'utf8');
    expect(() => renderCliDocs(docs, [...COMMANDS, extra])).toThrow(/no flag table for extra/);
    expect(() => renderCliDocs(`${docs}\n<!-- flags:gone -->\n<!-- /flags -->\n`)).toThrow(/'gone', which is no command/);
  });
});

describe('parsing by the table', () => {
  const spec = defineCommand({
    name: 'demo', summary: 's', description: 'd', synopsis: '',
    positionals: [{ name: 'FILE', help: 'a file' }],
    flags: [
      { name: 'lr', value: 'LR', help: 'rate' },
      { name: 'steps', value: 'N', default: '10', help: 'steps' },
      { name: 'quick', help: 'a switch' },
      { name: 'cases', value: 'LIST', multiple: true, help: 'repeatable' },
    ],
  });

  it('takes negative numbers as values, --name=value, defaults, repeated flags and positionals', () => {
    const { values, positionals } = parseFlags(spec, ['in.nii', '--lr', '-1e-3', '--cases', 'a', '--cases=b,c', '--quick']);
    expect(values).toEqual({ lr: '-1e-3', steps: '10', quick: true, cases: ['a', 'b,c'] });
    expect(positionals).toEqual(['in.nii']);
    expect(parseFlags(spec, ['--lr=-5', '--steps', '3']).values).toMatchObject({ lr: '-5', steps: '3' });
  });

  it('names unknown flags, with the closest when it looks like a typo', () => {
    expect(() => parseFlags(spec, ['--setps', '3'])).toThrow("demo: unknown option '--setps'; did you mean '--steps'?");
    expect(() => parseFlags(spec, ['--qui'])).toThrow("did you mean '--quick'?");
    expect(() => parseFlags(spec, ['--learning-rate', '3'])).toThrow(/^demo: unknown option '--learning-rate' \(transseg demo --help lists them\)$/);
    expect(() => parseFlags(spec, ['-x'])).toThrow(/unknown option '-x'/);
  });

  it('reports a missing value, a value given to a switch, and extra arguments', () => {
    expect(() => parseFlags(spec, ['--lr'])).toThrow('demo: --lr needs a value (LR)');
    expect(() => parseFlags(spec, ['--lr', '--quick'])).toThrow('demo: --lr needs a value (LR)');
    expect(() => parseFlags(spec, ['--quick=yes'])).toThrow('--quick is a switch and takes no value');
    expect(() => parseFlags(spec, ['a', 'b'])).toThrow("demo: unexpected argument 'b'");
  });

  it('a negative value reaches the range check of the command, which names the flag', async () => {
    await expect(train(['--dataset', 'd.json', '--out', 'o', '--lr', '-1e-3'])).rejects.toThrow("train: --lr must be a number ≥ 0, got '-1e-3'");
  });

  it('an error is one line without a stack; --verbose adds the stack', async () => {
    const quiet = await cli('inspect', '/nonexistent/w.safetensors');
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toMatch(/^transseg: .*\/nonexistent\/w\.safetensors/);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const verbose = await cli('inspect', '/nonexistent/w.safetensors', '--verbose');
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

describe("Dawn's native warnings", () => {
  const WARNINGS = [
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n',
    'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n',
  ].join('');
  const NO_DRIVER = 'Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER\n    at CheckVkSuccessImpl (/src/dawn/native/vulkan/VulkanError.cpp:106)\n\n';

  it('are dropped from the stream, our lines kept, however the chunks split', () => {
    const stream = `${WARNINGS}train 1/10 [>   ] loss –\rtrain 2/10 [=>  ] loss 0.5\n${NO_DRIVER}transseg: No WebGPU adapter found.\n`;
    const expected = 'train 1/10 [>   ] loss –\rtrain 2/10 [=>  ] loss 0.5\ntransseg: No WebGPU adapter found.\n';
    for (const size of [1, 3, 7, 40, stream.length]) {
      const filter = new DawnLogFilter();
      let out = '';
      for (let i = 0; i < stream.length; i += size) out += filter.push(stream.slice(i, i + size));
      expect(out + filter.end(), `chunks of ${size}`).toBe(expected);
    }
  });

  it('a progress line without a newline goes through at once', () => {
    const filter = new DawnLogFilter();
    expect(filter.push('\rtrain 3/10 [==> ]')).toBe('\rtrain 3/10 [==> ]');
  });

  it('a child process: its warnings are filtered, its other stderr and its exit status kept', async () => {
    let err = '';
    const script = `process.stderr.write(${JSON.stringify(WARNINGS)}); process.stderr.write('progress\\n'); process.exit(3)`;
    const code = await runFilteringDawnLog(['-e', script], (t) => { err += t; });
    expect(code).toBe(3);
    expect(err).toBe('progress\n');
  });
});
