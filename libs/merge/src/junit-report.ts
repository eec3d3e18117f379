import { errorText, failureText, type MergedTest } from './merged-test.js';
import type { Sink } from './sink.js';
import { STATUS_CODE, type TestTable } from './test-table.js';
import { xmlAttr, xmlText } from './xml.js';

/**
 * JUnit XML in the shape of the Jenkins junit schema, which GitLab and GitHub reporters
 * read too: one <testsuite> per batch (the unit a run is split and resumed by), a
 * <testcase> per test with classname = batch and name = "id name" (unique, since ids
 * are), time in seconds. failed → <failure>, error and missing → <error>, skipped →
 * <skipped/>. Counts on each suite are those of its children.
 */

interface SuiteCounts {
  name: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  timeMs: number;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

export function testcaseName(t: MergedTest): string {
  return t.name && t.name !== t.id ? `${t.id} ${t.name}` : t.id;
}

function suiteOf(t: MergedTest): string {
  return t.batch ?? 'capi';
}

/**
 * The suites (batches, in the order they first appear) with their counts, and the rows
 * ordered suite by suite: from the columns, one number per test, no test held as an object.
 */
function groupSuites(table: TestTable): { suites: SuiteCounts[]; order: Uint32Array; ends: Uint32Array } {
  const byName = new Map<string, number>();
  const suites: SuiteCounts[] = [];
  const suiteOfBatch = Int32Array.from(table.batchPool.values, () => -1);
  for (let i = 0; i < table.size; i++) {
    const b = table.batch[i] as number;
    let k = suiteOfBatch[b] as number;
    if (k < 0) {
      const name = table.batchPool.values[b] ?? 'capi';
      k = byName.get(name) ?? suites.length;
      if (k === suites.length) {
        suites.push({ name, tests: 0, failures: 0, errors: 0, skipped: 0, timeMs: 0 });
        byName.set(name, k);
      }
      suiteOfBatch[b] = k;
    }
    const s = suites[k] as SuiteCounts;
    const status = table.status[i] as number;
    s.tests++;
    if (status === STATUS_CODE.failed) s.failures++;
    else if (status === STATUS_CODE.error || status === STATUS_CODE.missing) s.errors++;
    else if (status === STATUS_CODE.skipped) s.skipped++;
    s.timeMs += status === STATUS_CODE.missing ? 0 : (table.duration[i] as number);
  }
  // Counting sort of the rows by suite, keeping row order inside each.
  const ends = new Uint32Array(suites.length);
  let at = 0;
  for (const [k, s] of suites.entries()) {
    at += s.tests;
    ends[k] = at;
  }
  const next = Uint32Array.from(ends, (e, k) => e - (suites[k] as SuiteCounts).tests);
  const order = new Uint32Array(table.size);
  for (let i = 0; i < table.size; i++) {
    const k = suiteOfBatch[table.batch[i] as number] as number;
    order[next[k] as number] = i;
    next[k] = (next[k] as number) + 1;
  }
  return { suites, order, ends };
}

function outcome(t: MergedTest): string {
  if (t.status === 'failed') {
    const body = (t.failures ?? []).map((f) => `${f.check}: expected ${f.expected}, got ${f.actual}`).join('\n');
    return `<failure message="${xmlAttr(failureText(t, 500))}" type="${xmlAttr(t.failures?.[0]?.check ?? 'check')}">${xmlText(body)}</failure>`;
  }
  if (t.status === 'error')
    return `<error message="${xmlAttr(errorText(t).slice(0, 500))}" type="${xmlAttr(t.error?.code ?? 'error')}">${xmlText(errorText(t))}</error>`;
  if (t.status === 'missing')
    return '<error message="missing: no result recorded" type="missing">the test did not run: no result record was found for it</error>';
  if (t.status === 'skipped') return '<skipped/>';
  return '';
}

/** What a testcase shows of a row: all of it when failed or errored, else its name, batch, status and time. */
function rowOf(table: TestTable, i: number): MergedTest {
  const status = table.status[i] as number;
  if (status === STATUS_CODE.failed || status === STATUS_CODE.error) return table.view(i);
  const { id, name } = table.idAndName(i);
  const batch = table.batchPool.values[table.batch[i] as number] ?? null;
  // testcase and outcome read no other field of a row with these statuses
  return { id, name, status: table.statusOf(i), durationMs: table.duration[i] as number, batch } as MergedTest;
}

function testcase(t: MergedTest): string {
  const attrs = `classname="${xmlAttr(suiteOf(t))}" name="${xmlAttr(testcaseName(t))}" time="${secs(t.status === 'missing' ? 0 : t.durationMs)}"`;
  const inner = outcome(t);
  return inner ? `    <testcase ${attrs}>${inner}</testcase>\n` : `    <testcase ${attrs}/>\n`;
}

/** Streams the XML; the rows are grouped per batch first (groupSuites), each read back as it is written. */
export async function writeJunitReport(sink: Sink, table: TestTable, title: string): Promise<void> {
  const { suites, order, ends } = groupSuites(table);
  const total = { tests: 0, failures: 0, errors: 0, timeMs: 0 };
  for (const s of suites) {
    total.tests += s.tests;
    total.failures += s.failures;
    total.errors += s.errors;
    total.timeMs += s.timeMs;
  }
  await sink.write('<?xml version="1.0" encoding="UTF-8"?>\n');
  await sink.write(
    `<testsuites name="${xmlAttr(title)}" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" time="${secs(total.timeMs)}">\n`,
  );
  let at = 0;
  for (const [id, s] of suites.entries()) {
    await sink.write(
      `  <testsuite name="${xmlAttr(s.name)}" id="${id}" tests="${s.tests}" failures="${s.failures}" errors="${s.errors}" skipped="${s.skipped}" time="${secs(s.timeMs)}">\n`,
    );
    for (; at < (ends[id] as number); at++) {
      const full = sink.write(testcase(rowOf(table, order[at] as number)));
      if (full) await full;
    }
    await sink.write('  </testsuite>\n');
  }
  await sink.write('</testsuites>\n');
}
