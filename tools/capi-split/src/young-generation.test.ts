import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { binPath, testEnv } from '@capi/testkit';

const MODULE = new URL('./young-generation.js', import.meta.url).href;

import { HELD_NEW_SPACE_BYTES } from './young-generation.js';

/**
 * The largest new space (MB) a node process reaches while it churns through garbage the
 * way a split does (many short-lived objects, a little kept for a while), with or without
 * holdYoungGeneration: in a process of its own, since V8 flags are process-wide.
 */
async function peakNewSpaceMb(hold: boolean): Promise<number> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { holdYoungGeneration } from ${JSON.stringify(MODULE)};
    const young = ${hold} ? holdYoungGeneration() : null;
    let kept = [];
    let peak = 0;
    // in slices with a turn of the event loop between them, as a split reads its input
    for (let slice = 0; slice < 300; slice++) {
      for (let i = 0; i < 20_000; i++) {
        kept.push({ id: 'T' + i, line: i, cells: ['a' + i, 'b'] });
        if (kept.length > 2000) kept = [];
      }
      const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      peak = Math.max(peak, space ? space.space_size : 0);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    young?.stop();
    process.stdout.write(String(peak / 1048576));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let out = '';
  child.stdout.on('data', (b) => {
    out += b;
  });
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  assert.equal(code, 0);
  return Number(out);
}

test('the young generation is held at 8 MB of new space instead of growing to 32 MB', async () => {
  const [held, grown] = await Promise.all([peakNewSpaceMb(true), peakNewSpaceMb(false)]);
  assert.ok(held <= HELD_NEW_SPACE_BYTES / 1048576, `new space ${held} MB with holdYoungGeneration`);
  // the control: without it V8 grows the new space well past that (so this test can fail)
  assert.ok(grown >= 16, `new space ${grown} MB without it`);
});

/**
 * The tool end to end: a suite large enough to start the batch-file thread (whose isolate,
 * as it starts, sets the growth factor back to V8's default; capi-split sets it again). A probe loaded into the same process reports the largest new space
 * it saw.
 */
test('capi-split --out holds the young generation, the batch-file thread started or not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-split-young-'));
  try {
    let csv = 'id,name,url,headers,tags\n';
    for (let i = 0; i < 60_000; i++)
      csv += `T${i},get item ${i},/items/${i},"{""Accept"":""application/json""}",smoke;items\n`;
    const suite = join(dir, 'suite.csv');
    await writeFile(suite, csv);
    const probe = join(dir, 'probe.mjs');
    await writeFile(
      probe,
      `import { getHeapSpaceStatistics } from 'node:v8';
let peak = 0;
const look = () => { const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); peak = Math.max(peak, s ? s.space_size : 0); };
setInterval(look, 5).unref();
process.on('exit', () => { look(); process.stderr.write('new space MB ' + peak / 1048576 + '\\n'); });
`,
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(probe).href,
        binPath('capi-split'),
        suite,
        '--batch-size',
        '100',
        '--out',
        join(dir, 'out'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: testEnv() },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    const [code] = await once(child, 'close');
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /wrote 600 batch files/);
    const mb = Number(/new space MB ([\d.]+)/.exec(stderr)?.[1]);
    assert.ok(mb <= HELD_NEW_SPACE_BYTES / 1048576, `new space ${mb} MB`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
