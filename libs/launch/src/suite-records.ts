import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { CapiError, type ExitCodeValue, readNdjson } from '@capi/core';
import { splitError } from './create-run.js';
import { toolBin } from './tools.js';

/** A test record as capi-launch reads it: only what it compares and copies. */
export interface SplitRecord {
  id: string;
  seq: number;
  [field: string]: unknown;
}

/**
 * The suite's test records as capi-split gives them now, streamed from its stdout (memory
 * stays flat); capi-split's refusal becomes one CapiError (exit 2 for bad input).
 */
export async function* currentRecords(
  suite: string,
  flags: string[],
  env: NodeJS.ProcessEnv,
): AsyncGenerator<SplitRecord> {
  const child = spawn(process.execPath, [toolBin('split', env), suite, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const spawned = new Promise<void>((resolve, reject) => {
    child.on('spawn', resolve);
    child.on('error', reject);
  });
  await spawned;
  try {
    for await (const { value } of readNdjson(child.stdout, { source: 'capi-split' })) yield value as SplitRecord;
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const code = await exit;
  if (code !== 0) {
    const text = splitError(stderr) || `capi-split exited with ${code}`;
    throw new CapiError(`splitting ${basename(suite)}: ${text}`, (code === 2 ? 2 : 3) as ExitCodeValue);
  }
}
