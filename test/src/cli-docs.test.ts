import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { killAll, repoRoot, runTool, tempDir, testEnv } from '@capi/testkit';

after(killAll);

const run = promisify(execFile);
const TOOLS = ['capi-split', 'capi-exec', 'capi-launch', 'capi-watch', 'capi-merge'];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The long flags a tool's --help lists (`--name`), in order. */
function helpFlags(help: string): string[] {
  const options = help.slice(help.indexOf('\nOptions:\n'), help.indexOf('\nExamples:'));
  return [...options.matchAll(/^ {2}(?:-\w, )? *(--[a-z][a-z-]*)/gm)].map((m) => m[1] as string);
}

const helps = new Map<string, string>();
async function helpOf(tool: string): Promise<string> {
  if (!helps.has(tool)) {
    const res = await runTool(tool, ['--help']);
    assert.equal(res.code, 0, res.stderr);
    helps.set(tool, res.stdout);
  }
  return helps.get(tool) as string;
}

test('--help of every tool fits 100 columns, has no trailing blanks, one placeholder style, no internal flag', async () => {
  for (const tool of TOOLS) {
    const help = await helpOf(tool);
    for (const line of help.split('\n')) {
      assert.ok(line.length <= 100, `${tool}: ${line.length} columns: ${line}`);
      assert.equal(line, line.trimEnd(), `${tool}: trailing blanks`);
    }
    assert.doesNotMatch(help, /--supervise|--echo|internal:/, tool);
    assert.doesNotMatch(help, /--[a-z-]+=</, `${tool}: citty's --flag=<value> placeholders`);
    // every value placeholder is in capitals (or a quoted 'NAME: VALUE')
    const options = help.slice(help.indexOf('\nOptions:\n'), help.indexOf('\nExamples:'));
    // (a flag line starts `  -x, --flag` or `      --flag`; a wrapped description line may start with a flag name)
    for (const m of options.matchAll(/^ {2}(?:-\w, | {4})--[a-z-]+ (\S.*?)(?: {2,}|$)/gm))
      assert.match(m[1] as string, /^('[A-Z: ]+'|[A-Z0-9_|/%=.]+)$/, `${tool}: placeholder "${m[1]}"`);
    assert.ok(helpFlags(help).length > 8, `${tool}: ${helpFlags(help)}`);
  }
});

// A tool's manual (docs/capi-x.md) writes a flag in its tables as `--flag PLACEHOLDER`; --help,
// the man page and completion (a FILE or DIR placeholder completes file names) take theirs
// from the flag's definition, which falls back to the flag's name: `--vars VARS` did not
// complete a file name while the manual said `--vars FILE`.
test("the placeholders in the docs' flag tables (FILE, DIR, ID, N...) are the ones --help prints", async () => {
  let checked = 0;
  for (const tool of TOOLS) {
    const help = await helpOf(tool);
    const doc = await readFile(join(repoRoot, `docs/${tool}.md`), 'utf8');
    for (const m of doc.matchAll(/^\| `(--[a-z-]+) (N|[A-Z][A-Z0-9_/]+)`/gm)) {
      const [, flag, hint] = m as unknown as [string, string, string];
      const printed = new RegExp(`^ {2}(?:-\\w, | {4})${flag} (\\S+)`, 'm').exec(help)?.[1];
      if (printed === undefined) continue; // a flag of another program (the guide's script)
      assert.ok(printed.split('|').includes(hint), `docs/${tool}.md: ${flag} ${hint}, --help: ${flag} ${printed}`);
      checked++;
    }
  }
  assert.ok(checked >= 25, `checked ${checked}`);
});

test('an unknown flag gets "did you mean" in every tool: one letter dropped from each of its own flags', async () => {
  for (const tool of TOOLS) {
    const flags = helpFlags(await helpOf(tool)).filter((f) => f.length > 7 && f !== '--completion');
    for (const flag of flags.slice(0, 3)) {
      const typo = `${flag.slice(0, 4)}${flag.slice(5)}`;
      const res = await runTool(tool, [typo], { input: '' });
      assert.equal(res.code, 2, `${tool} ${typo}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      const near = /\(did you mean (--[a-z-]+)\?\)/.exec(res.stderr)?.[1];
      assert.ok(near, `${tool} ${typo}: ${res.stderr}`);
      // the nearest flag may be another one just as near, but it is a real flag of the tool
      assert.ok(helpFlags(await helpOf(tool)).includes(near), `${tool}: ${near}`);
    }
  }
  const res = await runTool('capi-launch', ['suite.csv', '--paralel', '2']);
  assert.equal(
    res.stderr,
    "capi-launch: unknown option '--paralel' (did you mean --parallel?)\nTry 'capi-launch --help' for more information.\n",
  );
  const exec = await runTool('capi-exec', ['--conccurency', '4'], { input: '' });
  assert.match(exec.stderr, /unknown option '--conccurency' \(did you mean --concurrency\?\)/);
  const none = await runTool('capi-merge', ['--xyzzy']);
  assert.match(none.stderr, /^capi-merge: unknown option '--xyzzy'\n/);
});

test('bash completion of every tool offers its --help flags, enum values and file names', {
  skip: !has('bash'),
}, async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir.path, 'suite.csv'), 'id,url\n');
    for (const tool of TOOLS) {
      const script = (await runTool(tool, ['--completion', 'bash'])).stdout;
      const complete = (words: string[]) =>
        run(
          'bash',
          [
            '-c',
            `eval "$(cat)"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _${tool.replaceAll('-', '_')}; printf '%s\\n' "\${COMPREPLY[@]}"`,
          ],
          { cwd: dir.path, env: testEnv() },
        );
      const proc = complete([tool, '--']);
      proc.child.stdin?.end(script);
      const offered = (await proc).stdout.split('\n').filter(Boolean);
      for (const flag of helpFlags(await helpOf(tool))) assert.ok(offered.includes(flag), `${tool}: ${flag}`);
      assert.ok(!offered.includes('--supervise'), tool);
      const shells = complete([tool, '--completion', '']);
      shells.child.stdin?.end(script);
      assert.deepEqual((await shells).stdout.split('\n').filter(Boolean), ['bash', 'zsh']);
      const files = complete([tool, 'su']);
      files.child.stdin?.end(script);
      assert.deepEqual((await files).stdout.split('\n').filter(Boolean), ['suite.csv']);
    }
  } finally {
    await dir.cleanup();
  }
});

test('zsh completion of every tool is a #compdef function zsh accepts', { skip: !has('zsh') }, async () => {
  const dir = await tempDir();
  try {
    for (const tool of TOOLS) {
      const script = (await runTool(tool, ['--completion', 'zsh'])).stdout;
      assert.match(script, new RegExp(`^#compdef ${tool}\\n`));
      const file = join(dir.path, `_${tool}`);
      await writeFile(file, script);
      const syntax = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      assert.equal(syntax.status, 0, `${tool}: ${syntax.stderr}`);
      // loaded into a zsh with the completion system: compdef registers it, nothing complains
      const loaded = spawnSync(
        'zsh',
        ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${file} && print -r -- $_comps[${tool}]`],
        { encoding: 'utf8', env: testEnv({ HOME: dir.path }) },
      );
      assert.equal(loaded.stderr, '', tool);
      assert.equal(loaded.stdout.trim(), `_${tool.replaceAll('-', '_')}`, tool);
      for (const flag of helpFlags(await helpOf(tool))) assert.ok(script.includes(flag), `${tool}: ${flag}`);
    }
  } finally {
    await dir.cleanup();
  }
});

test('the man page of every tool renders with man -l, without warnings, and lists every flag of --help', {
  skip: !has('man') || !has('groff'),
}, async () => {
  for (const tool of TOOLS) {
    const page = (await runTool(tool, ['--man'])).stdout;
    assert.match(page, new RegExp(`^\\.TH ${tool.toUpperCase()} 1 `));
    const lint = spawnSync('groff', ['-man', '-ww', '-z'], { input: page, encoding: 'utf8' });
    assert.equal(lint.stderr, '', `${tool}: groff warnings`);
    const shown = spawnSync('man', ['-l', '-'], {
      input: page,
      encoding: 'utf8',
      env: testEnv({ MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' }),
    });
    assert.equal(shown.status, 0, shown.stderr);
    for (const heading of ['NAME', 'SYNOPSIS', 'OPTIONS', 'EXIT STATUS'])
      assert.match(shown.stdout, new RegExp(`^${heading}$`, 'm'));
    const text = shown.stdout.replace(/‐\n\s*/g, '').replace(/[‐−]/g, '-');
    for (const flag of helpFlags(await helpOf(tool)))
      assert.ok(text.includes(flag), `${tool}: ${flag} in the man page`);
  }
});

test('--completion needs bash or zsh; --version answers in every tool', async () => {
  const bad = await runTool('capi-exec', ['--completion', 'fish']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--completion takes one of bash, zsh \(got "fish"\)/);
  for (const tool of TOOLS) {
    const res = await runTool(tool, ['--version']);
    assert.equal(res.stdout, `${tool} 0.1.0\n`);
  }
});

/** The shell lines of a Markdown file's bash and sh blocks. */
async function shellLines(file: string): Promise<string[]> {
  const text = await readFile(join(repoRoot, file), 'utf8');
  return [...text.matchAll(/^```(?:bash|sh)\n([\s\S]*?)^```/gm)].flatMap((m) => (m[1] as string).split('\n'));
}

// README.md: without --suite, a capi-exec that stops halfway (bad input, a crash) leaves
// capi-merge a short stream that passes; with it the tests without a result are missing.
test('every pipeline into capi-merge that --help, README.md, docs/ and examples/README.md print gives it --suite', async () => {
  const sources: [string, string[]][] = [];
  for (const tool of TOOLS) {
    const help = await helpOf(tool);
    const examples = help.slice(help.indexOf('\nExamples:')).replace(/ \\\n +/g, ' ');
    sources.push([`${tool} --help`, examples.split('\n')]);
  }
  const docs = (await readdir(join(repoRoot, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  for (const file of ['README.md', 'examples/README.md', ...docs]) sources.push([file, await shellLines(file)]);
  let pipelines = 0;
  for (const [where, lines] of sources)
    for (const line of lines) {
      const merge = /\|\s*capi-merge\b(.*)$/.exec(line)?.[1];
      if (merge === undefined) continue;
      pipelines++;
      assert.match(merge, /(^| )--suite /, `${where}: ${line}`);
    }
  assert.ok(pipelines >= 8, `found ${pipelines} pipelines`);
});
