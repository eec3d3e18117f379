import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '@capi/testkit';

// ARCHITECTURE.md promises one hop from the map to any behaviour: every source file of a
// library or a tool has its line, and no line names a file that is gone.

/** Non-test TypeScript files under each `libs/*\/src` and `tools/*\/src`, repository-relative. */
async function sourceFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const top of ['libs', 'tools']) {
    for (const pkg of await readdir(join(repoRoot, top))) {
      const src = join(top, pkg, 'src');
      const entries = await readdir(join(repoRoot, src), { recursive: true }).catch(() => [] as string[]);
      for (const entry of entries)
        if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) files.push(join(src, entry));
    }
  }
  return files.sort();
}

/**
 * The files the map names: a section `### libs/x/src/` or `### tools/` is the folder its
 * lines are relative to; a line names its files in backticks before the first colon
 * (`- \`a.ts\`, \`b.ts\`: what they do`), so files quoted in a description do not count.
 */
function mappedFiles(map: string): string[] {
  const named: string[] = [];
  let base: string | null = null;
  for (const line of map.split('\n')) {
    const heading = /^### (libs\/[\w-]+\/src\/|tools\/)/.exec(line);
    if (line.startsWith('### ')) base = heading ? (heading[1] as string) : null;
    const head = /^- ((?:`[^`]+`(?:, )?)+):/.exec(line);
    if (base === null || !head) continue;
    for (const [, path] of (head[1] as string).matchAll(/`([^`]+)`/g))
      if (path?.endsWith('.ts')) named.push(`${base}${path}`);
  }
  return named;
}

test('ARCHITECTURE.md lists every library and tool source file once, and no file that is gone', async () => {
  const map = mappedFiles(await readFile(join(repoRoot, 'ARCHITECTURE.md'), 'utf8'));
  const files = await sourceFiles();
  assert.ok(files.length > 100, `found only ${files.length} source files: is the walk right?`);
  const twice = map.filter((f, i) => map.indexOf(f) !== i);
  assert.deepEqual(twice, [], 'listed more than once');
  assert.deepEqual(
    files.filter((f) => !map.includes(f)),
    [],
    'source files missing from ARCHITECTURE.md',
  );
  assert.deepEqual(
    map.filter((f) => !files.includes(f)),
    [],
    'ARCHITECTURE.md lists files that are gone',
  );
});
