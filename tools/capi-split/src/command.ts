import { once } from 'node:events';
import type { Readable } from 'node:stream';
import {
  CapiError,
  ExitCode,
  formatShard,
  type InputError,
  intFlag,
  parseShard,
  type TestRecord,
  UsageError,
} from '@capi/core';
import { type SplitOptions, serializeTestRecord, splitSuiteBatches, writeBatches } from '@capi/split';
import { type ArgsDef, type CommandDef, defineCommand } from 'citty';
import { openSuite } from './input.js';
import { progressLine } from './progress.js';

const DESCRIPTION = `Turn a suite CSV (or NDJSON test records) into test records: NDJSON on stdout, or batch files.

Filters apply in this order: --start/--end (data rows), --tags, --grep, --shard; seq numbers the tests that remain.

Examples:
  capi-split suite.csv > tests.ndjson
  capi-split suite.csv | capi-exec --base-url http://localhost:8080
  capi-split suite.csv --batch-size 100 --out runs/r1/batches
  capi-split suite.csv --tags smoke,auth --grep '^T00' --shard 2/4
  capi-split suite.csv --start 0 --end 100          # the first 100 data rows
  cat suite.csv | capi-split --lenient - > tests.ndjson`;

const args = {
  file: {
    type: 'positional',
    required: false,
    description: 'suite CSV or NDJSON test records (- or none: stdin)',
  },
  format: {
    type: 'enum',
    options: ['auto', 'csv', 'ndjson'],
    default: 'auto',
    description: 'input format (auto: `{` first means NDJSON)',
  },
  'auto-id': { type: 'boolean', description: 'give rows without an id the id row-<line>' },
  out: {
    type: 'string',
    valueHint: 'DIR',
    description: 'write batch_0001.ndjson … and index.json into DIR instead of stdout',
  },
  'batch-size': { type: 'string', valueHint: 'N', description: 'tests per batch file with --out (default 100)' },
  force: { type: 'boolean', description: 'with --out: replace the batches of a folder that is not empty' },
  start: { type: 'string', valueHint: 'N', description: 'first data row to take, 0-based (default 0)' },
  end: { type: 'string', valueHint: 'N', description: 'data row to stop before (default: the end)' },
  tags: { type: 'string', valueHint: 'a,b', description: 'keep tests that have any of these tags' },
  grep: { type: 'string', valueHint: 'REGEX', description: 'keep tests whose id or name matches' },
  shard: {
    type: 'string',
    valueHint: 'K/N',
    description: 'keep shard K of N (by id: deterministic, each test in one shard)',
  },
  lenient: { type: 'boolean', description: 'skip bad rows with a warning each (broken CSV structure stays fatal)' },
  verbose: { type: 'boolean', description: 'show a stack trace with unexpected errors' },
} satisfies ArgsDef;

type Args = { [K in keyof typeof args]?: string | boolean | undefined };

export function splitCommand(version: string): CommandDef {
  const command = defineCommand({
    meta: { name: 'capi-split', version, description: DESCRIPTION },
    args,
    run: ({ args: parsed }) => split(parsed as Args),
  });
  // citty's CommandDef is invariant in its args type; runTool takes any command.
  return command as unknown as CommandDef;
}

function filterOptions(a: Args): Omit<SplitOptions, 'source'> {
  const start = intFlag('start', a.start as string | undefined);
  const end = intFlag('end', a.end as string | undefined);
  if (start !== undefined && end !== undefined && end < start)
    throw new UsageError(`--end (${end}) is before --start (${start})`);
  const tags =
    typeof a.tags === 'string'
      ? a.tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
      : undefined;
  if (tags !== undefined && tags.length === 0) throw new UsageError('--tags needs at least one tag');
  return {
    format: a.format as SplitOptions['format'],
    autoId: a['auto-id'] === true,
    lenient: a.lenient === true,
    start,
    end,
    tags,
    grep: typeof a.grep === 'string' ? regexFlag(a.grep) : undefined,
    shard: typeof a.shard === 'string' ? parseShard(a.shard) : undefined,
  };
}

function regexFlag(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new UsageError(`--grep: ${(err as Error).message}`);
  }
}

function batchOptions(a: Args): { out: string; size: number; force: boolean } | null {
  const size = intFlag('batch-size', a['batch-size'] as string | undefined, { min: 1 });
  if (typeof a.out !== 'string') {
    if (size !== undefined) throw new UsageError('--batch-size needs --out DIR');
    if (a.force === true) throw new UsageError('--force needs --out DIR');
    return null;
  }
  if (a.out === '') throw new UsageError('--out needs a folder');
  return { out: a.out, size: size ?? 100, force: a.force === true };
}

async function split(a: Args): Promise<number> {
  const options = filterOptions(a);
  const batches = batchOptions(a);
  if (typeof a.file !== 'string' && process.stdin.isTTY)
    throw new UsageError('no suite given (name a file, or pipe one into stdin)');
  const input = await openSuite(typeof a.file === 'string' ? a.file : '-');
  const stopOnSignal = stopInput(input.stream);
  const progress = progressLine();
  let skipped = 0;
  const splitOptions: SplitOptions = {
    ...options,
    source: input.source,
    onProgress: progress.update,
    onSkip: (error: InputError) => {
      skipped++;
      progress.done();
      process.stderr.write(`capi-split: warning: ${error.message} (row skipped)\n`);
    },
  };
  try {
    if (batches === null) await toStdout(splitSuiteBatches(input.stream, splitOptions));
    else {
      const index = await writeBatches(
        splitSuiteBatches(input.stream, splitOptions),
        batches.out,
        batches.size,
        batches,
      );
      progress.done();
      const shard = options.shard ? ` (shard ${formatShard(options.shard)})` : '';
      process.stderr.write(
        `capi-split: wrote ${index.batches.length} batch files, ${index.total} tests${shard}, and index.json to ${batches.out}\n`,
      );
    }
  } finally {
    progress.done();
    stopOnSignal.off();
  }
  if (skipped > 0) process.stderr.write(`capi-split: skipped ${skipped} bad row${skipped === 1 ? '' : 's'}\n`);
  return 0;
}

/**
 * Ctrl-C or a TERM stops reading with an error, so that the split unwinds like any other
 * error: --out removes its temporary folder, and nothing half-written is left (exit 130/143).
 */
function stopInput(stream: Readable) {
  const stop = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? ExitCode.sigint : ExitCode.sigterm;
    stream.destroy(new CapiError(`stopped by ${signal}`, code));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    off() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/**
 * Output is held back until 1 MiB has gathered, so that bad input found early (most bad
 * suites) leaves stdout empty; past that the records stream in writes of about 32 KiB,
 * waiting for 'drain' after each parsed chunk when the reader downstream is behind.
 * Writes stay small on purpose: a string over 128 KiB lands in V8's large-object space,
 * which only a full GC frees, and peak memory grew by tens of MB.
 */
const HOLD_BACK = 1024 * 1024;
const WRITE_AT = 32 * 1024;

async function toStdout(batches: AsyncIterable<TestRecord[]>): Promise<void> {
  const out = process.stdout;
  let held: string[] | null = [];
  let heldBytes = 0;
  for await (const batch of batches) {
    let text = '';
    for (const record of batch) {
      text += `${serializeTestRecord(record)}\n`;
      if (text.length < WRITE_AT) continue;
      if (held === null) out.write(text);
      else {
        held.push(text);
        heldBytes += text.length;
      }
      text = '';
    }
    if (held !== null) {
      held.push(text);
      heldBytes += text.length;
      if (heldBytes < HOLD_BACK) continue;
      for (const piece of held) out.write(piece);
      held = null;
    } else if (text !== '') out.write(text);
    if (out.writableNeedDrain) await once(out, 'drain');
  }
  for (const piece of held ?? []) out.write(piece);
}
