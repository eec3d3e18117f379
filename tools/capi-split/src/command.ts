import {
  type BatchIndex,
  type BatchIndexEntry,
  CapiError,
  formatShard,
  type InputError,
  intFlag,
  plainLine,
  plural,
  shardFlag,
  type TestRecord,
  UsageError,
  verboseFlag,
} from '@capi/core';
import { type SplitOptions, splitSuiteBatches, writeBatches } from '@capi/split';
import { type ArgsDef, type CommandDef, defineCommand } from 'citty';
import { openSuite } from './input.js';
import { progressLine } from './progress.js';
import { toStdout } from './stdout.js';
import { stopInput } from './stop-on-signal.js';
import { holdYoungGeneration } from './young-generation.js';

const DESCRIPTION = `Turn a suite CSV (or NDJSON test records) into test records: NDJSON on stdout, or batch files.

Filters apply in this order: --start/--end (data rows), --tags, --grep, --shard; seq numbers the tests that remain.
A flow is kept whole (its first row decides; its shard goes by its name), so a batch may hold more than
--batch-size tests; setup and teardown rows go into every shard and batch.

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
    valueHint: 'SUITE',
    required: false,
    description: 'suite CSV or NDJSON test records (- or none: stdin)',
  },
  // A string, not a citty enum: citty prints an enum's choices as its value hint, and that
  // one long flag pushed the others' column out of line in --help.
  format: {
    type: 'string',
    valueHint: 'FORMAT',
    description: 'auto, csv or ndjson (default auto: `{` first means NDJSON)',
  },
  'auto-id': { type: 'boolean', description: 'give rows without an id the id row-<line>' },
  'vars-columns': {
    type: 'string',
    valueHint: 'C',
    description: 'columns C (a,b) that are variables even if no {{template}} uses them (or prefix them var.)',
  },
  out: {
    type: 'string',
    valueHint: 'DIR',
    description: 'write batch_0001.ndjson … and index.json into DIR instead of stdout',
  },
  'batch-size': { type: 'string', valueHint: 'N', description: 'tests per batch file with --out (default 100)' },
  'max-batch-size': {
    type: 'string',
    valueHint: 'N',
    description: 'with --out: batches double every 100 batches from --batch-size up to N tests (default: no growth)',
  },
  force: { type: 'boolean', description: 'with --out: replace the batches of a folder that is not empty' },
  start: { type: 'string', valueHint: 'N', description: 'first data row to take, 0-based (default 0)' },
  end: { type: 'string', valueHint: 'N', description: 'data row to stop before (default: the end)' },
  tags: { type: 'string', valueHint: 'TAGS', description: 'keep tests that have any of these tags' },
  grep: { type: 'string', valueHint: 'REGEX', description: 'keep tests whose id or name matches' },
  shard: {
    type: 'string',
    valueHint: 'K/N',
    description:
      'keep shard K of N (by id: deterministic, each test in one shard); auto: from the CI (CAPI_SHARD, CI_NODE_INDEX...)',
  },
  lenient: { type: 'boolean', description: 'skip bad rows with a warning each (broken CSV structure stays fatal)' },
  verbose: verboseFlag,
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
    format: formatFlag(a.format as string | undefined),
    autoId: a['auto-id'] === true,
    varsColumns: listFlag('vars-columns', a['vars-columns'] as string | undefined),
    lenient: a.lenient === true,
    start,
    end,
    tags,
    grep: typeof a.grep === 'string' ? regexFlag(a.grep) : undefined,
    shard: typeof a.shard === 'string' ? shardFlag(a.shard, process.env) : undefined,
  };
}

function listFlag(flag: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError(`--${flag} needs at least one column name`);
  return names;
}

const FORMATS = ['auto', 'csv', 'ndjson'] as const;

function formatFlag(text: string | undefined): SplitOptions['format'] {
  if (text === undefined) return 'auto';
  if (!(FORMATS as readonly string[]).includes(text))
    throw new UsageError(`option '--format' takes one of ${FORMATS.join(', ')} (got "${text}")`);
  return text as SplitOptions['format'];
}

function regexFlag(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new UsageError(`--grep: ${(err as Error).message}`);
  }
}

function batchOptions(a: Args): { out: string; size: number; maxSize?: number; force: boolean } | null {
  const size = intFlag('batch-size', a['batch-size'] as string | undefined, { min: 1 });
  const maxSize = intFlag('max-batch-size', a['max-batch-size'] as string | undefined, { min: 1 });
  if (typeof a.out !== 'string') {
    if (size !== undefined) throw new UsageError('--batch-size needs --out DIR');
    if (maxSize !== undefined) throw new UsageError('--max-batch-size needs --out DIR');
    if (a.force === true) throw new UsageError('--force needs --out DIR');
    return null;
  }
  if (a.out === '') throw new UsageError('--out needs a folder');
  if (maxSize !== undefined && maxSize < (size ?? 100))
    throw new UsageError(`--max-batch-size ${maxSize} is below --batch-size ${size ?? 100}`);
  return { out: a.out, size: size ?? 100, ...(maxSize !== undefined ? { maxSize } : {}), force: a.force === true };
}

/**
 * Records past the first MiB stream before the end of the input; an error found later (a
 * bad row, a column no template used) cannot take them back, so it says they are there.
 */
async function toStdoutHonestly(batches: AsyncIterable<TestRecord[]>): Promise<void> {
  const counted = { written: 0 };
  try {
    await toStdout(batches, counted);
  } catch (err) {
    if (err instanceof CapiError && counted.written > 0)
      err.message += `\ncapi-split: ${plural(counted.written, 'record')} ${counted.written === 1 ? 'was' : 'were'} already written to stdout before this error: that output is incomplete`;
    throw err;
  }
}

const OVERSIZE_SHOWN = 5;

/** One line per batch that grew past --batch-size to hold a flow; past a few, a count. */
function oversizeNotes(growing: boolean, clearProgress: () => void) {
  let count = 0;
  const flag = growing ? 'its size (--batch-size, --max-batch-size)' : '--batch-size';
  return {
    note(entry: BatchIndexEntry, flow: string, size: number) {
      if (++count > OVERSIZE_SHOWN) return;
      clearProgress();
      process.stderr.write(
        `capi-split: ${entry.batch} holds ${entry.count} tests, more than ${growing ? `its size ${size}` : `--batch-size ${size}`}, to keep flow ${JSON.stringify(plainLine(flow))} whole\n`,
      );
    },
    end() {
      if (count > OVERSIZE_SHOWN)
        process.stderr.write(
          `capi-split: ${count - OVERSIZE_SHOWN} more ${count - OVERSIZE_SHOWN === 1 ? 'batch holds' : 'batches hold'} more tests than ${flag} to keep a flow whole\n`,
        );
    },
  };
}

/** Setup and teardown rows are copied into every batch: said, since they are not counted as tests. */
function phaseNote(index: BatchIndex): string {
  const parts = [];
  if (index.setup) parts.push(plural(index.setup, 'setup row'));
  if (index.teardown) parts.push(plural(index.teardown, 'teardown row'));
  return parts.length === 0 ? '' : `; each batch also carries ${parts.join(' and ')}`;
}

async function split(a: Args): Promise<number> {
  const options = filterOptions(a);
  const batches = batchOptions(a);
  if (typeof a.file !== 'string' && process.stdin.isTTY)
    throw new UsageError('no suite given (name a file, or pipe one into stdin)');
  const input = await openSuite(typeof a.file === 'string' ? a.file : '-');
  const stopOnSignal = stopInput(input.stream);
  const young = holdYoungGeneration();
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
    if (batches === null) await toStdoutHonestly(splitSuiteBatches(input.stream, splitOptions));
    else {
      const oversize = oversizeNotes(batches.maxSize !== undefined && batches.maxSize > batches.size, progress.done);
      const index = await writeBatches(splitSuiteBatches(input.stream, splitOptions), batches.out, batches.size, {
        ...batches,
        ...(input.bytes !== undefined && { inputBytes: input.bytes }),
        onOversize: oversize.note,
        onLeftover: (text) => process.stderr.write(`capi-split: ${text}\n`),
        onThreadOnline: young.look,
        signal: stopOnSignal.signal,
      });
      progress.done();
      oversize.end();
      const shard = options.shard ? ` (shard ${formatShard(options.shard)})` : '';
      const files = plural(index.batches.length, 'batch file');
      process.stderr.write(
        `capi-split: wrote ${files}, ${plural(index.total, 'test')}${shard}, and index.json to ${batches.out}${phaseNote(index)}\n`,
      );
    }
  } finally {
    progress.done();
    stopOnSignal.off();
    young.stop();
  }
  if (skipped > 0) process.stderr.write(`capi-split: skipped ${plural(skipped, 'bad row')}\n`);
  return 0;
}
