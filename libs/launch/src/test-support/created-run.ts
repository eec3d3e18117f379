import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@capi/core';

/** A run folder as a capi-launch leaves it once run.json is written: `created`, no supervisor. */
export async function createdRun(runs: string, id: string): Promise<string> {
  const runDir = join(runs, id);
  await mkdir(runDir, { recursive: true });
  const manifest = {
    id,
    method: 'nohup',
    state: 'created',
    verdict: null,
    total: 1,
    pid: null,
    finished: null,
    suite: { file: '/x' },
    options: { execArgs: [] },
  };
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify(manifest));
  return runDir;
}
