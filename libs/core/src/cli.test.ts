import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArgsDef } from 'citty';
import { checkArgv, intFlag, repeatedFlag } from './cli.js';
import { UsageError } from './errors.js';

const args = {
  suite: { type: 'positional', required: false, description: 'suite' },
  concurrency: { type: 'string', alias: 'c', description: 'n' },
  header: { type: 'string', alias: 'H', description: 'h' },
  verbose: { type: 'boolean', description: 'v' },
  format: { type: 'enum', options: ['plain', 'json'], description: 'f' },
} satisfies ArgsDef;

function usageError(argv: string[]): string {
  try {
    checkArgv(argv, args);
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
}

test('checkArgv accepts known flags in every spelling', () => {
  const ok = [
    ['suite.csv', '--concurrency', '4'],
    ['--concurrency=4', '-c', '8', '-c=2'],
    ['--verbose', '--no-verbose', '-'],
    ['--format', 'json', '--format=plain'],
    ['--header', 'a: b', '-H', 'c: d'],
    ['--concurrency', '-5'],
    ['--', '--anything'],
  ];
  for (const argv of ok) assert.doesNotThrow(() => checkArgv(argv, args), argv.join(' '));
});

test('checkArgv refuses unknown flags, missing values and bad enum values', () => {
  assert.equal(usageError(['--conccurency', '4']), "unknown option '--conccurency' (did you mean --concurrency?)");
  assert.equal(usageError(['--bogus=1']), "unknown option '--bogus'");
  assert.equal(usageError(['-x']), "unknown option '-x'");
  assert.equal(usageError(['--concurrency']), "option '--concurrency' needs a value");
  assert.equal(usageError(['--concurrency', '--verbose']), "option '--concurrency' needs a value");
  assert.equal(usageError(['--concurrency', '--', 'x']), "option '--concurrency' needs a value");
  assert.match(usageError(['--format', 'xml']), /option '--format' takes one of plain, json \(got "xml"\)/);
  assert.match(usageError(['--format=xml']), /takes one of plain, json/);
});

test('an unknown flag names the nearest known one: long names, aliases, -x for --x, never internal flags', () => {
  const more = {
    ...args,
    parallel: { type: 'string', alias: 'p', description: 'workers' },
    'batch-size': { type: 'string', description: 'n' },
    supervise: { type: 'string', description: 'internal: the supervisor' },
  } satisfies ArgsDef;
  const message = (argv: string[]) => {
    try {
      checkArgv(argv, more);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(message(['--paralel', '2']), "unknown option '--paralel' (did you mean --parallel?)");
  assert.equal(message(['--paralel=2']), "unknown option '--paralel' (did you mean --parallel?)");
  assert.equal(message(['--batchsize', '5']), "unknown option '--batchsize' (did you mean --batch-size?)");
  assert.equal(message(['--verbos']), "unknown option '--verbos' (did you mean --verbose?)");
  assert.equal(message(['--no-verbos']), "unknown option '--no-verbos' (did you mean --no-verbose?)");
  assert.equal(message(['--halp']), "unknown option '--halp' (did you mean --help?)");
  assert.equal(message(['--supervis', 'x']), "unknown option '--supervis'");
  assert.equal(message(['--zzz']), "unknown option '--zzz'");
  assert.equal(message(['-x']), "unknown option '-x'");
});

test('repeatedFlag collects every value of a flag in order, stopping at --', () => {
  const argv = ['--header', 'a: 1', '-H', 'b: 2', '--header=c: 3', '-H=d: 4', 'x', '--', '--header', 'no'];
  assert.deepEqual(repeatedFlag(argv, 'header', 'H'), ['a: 1', 'b: 2', 'c: 3', 'd: 4']);
  assert.deepEqual(repeatedFlag(argv, 'header'), ['a: 1', 'c: 3']);
  assert.deepEqual(repeatedFlag(['--headers', 'x', '--header'], 'header'), []);
});

test('intFlag parses whole numbers within bounds, naming the flag otherwise', () => {
  assert.equal(intFlag('concurrency', undefined), undefined);
  assert.equal(intFlag('concurrency', ''), undefined);
  assert.equal(intFlag('concurrency', '16'), 16);
  assert.equal(intFlag('retries', '0'), 0);
  assert.equal(intFlag('n', '5', { min: 1, max: 5 }), 5);
  for (const bad of ['1.5', 'abc', '-1', '1e3', '0x10', '99999999999999999999']) {
    assert.throws(
      () => intFlag('concurrency', bad),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /^--concurrency takes a whole number >= 0 \(got ".*"\)$/);
        return true;
      },
    );
  }
  assert.throws(() => intFlag('n', '6', { min: 1, max: 5 }), /--n takes a whole number from 1 to 5 \(got "6"\)/);
  assert.throws(() => intFlag('n', '0', { min: 1 }), /--n takes a whole number >= 1/);
});

test('checkArgv refuses arguments no positional takes, also after --', () => {
  assert.match(usageError(['a.csv', 'b.csv']), /unexpected argument 'b\.csv'/);
  assert.match(usageError(['a.csv', '--', '--weird']), /unexpected argument '--weird'/);
  assert.match(usageError(['-c', '4', 'a.csv', 'b.csv']), /unexpected argument 'b\.csv'/);
  assert.doesNotThrow(() => checkArgv(['-c', '4', 'a.csv'], args));
  assert.doesNotThrow(() => checkArgv(['a.csv', 'b.csv', 'c.csv'], args, true), 'variadic takes them all');
  const none = { verbose: { type: 'boolean', description: 'v' } } satisfies ArgsDef;
  assert.throws(() => checkArgv(['tests.ndjson'], none), /unexpected argument 'tests\.ndjson'/);
});
