import { errorText, failureText, type MergedTest } from './merged-test.js';
import type { Sink } from './sink.js';
import { xmlAttr, xmlText } from './xml.js';

/**
 * JUnit XML in the shape of the Jenkins junit schema, which GitLab and GitHub reporters
 * read too: one <testsuite> per batch (the unit a run is split and resumed by), a
 * <testcase> per test with classname = batch and name = "id name" (unique, since ids
 * are), time in seconds. failed → <failure>, error and missing → <error>, skipped →
 * <skipped/>. Counts on each suite are those of its children.
 */

interface SuiteCounts {
  members: MergedTest[];
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

function countSuites(tests: Iterable<MergedTest>): Map<string, SuiteCounts> {
  const suites = new Map<string, SuiteCounts>();
  for (const t of tests) {
    const key = suiteOf(t);
    let s = suites.get(key);
    if (!s) {
      s = { members: [], tests: 0, failures: 0, errors: 0, skipped: 0, timeMs: 0 };
      suites.set(key, s);
    }
    s.members.push(t);
    s.tests++;
    if (t.status === 'failed') s.failures++;
    else if (t.status === 'error' || t.status === 'missing') s.errors++;
    else if (t.status === 'skipped') s.skipped++;
    s.timeMs += t.status === 'missing' ? 0 : t.durationMs;
  }
  return suites;
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

function testcase(t: MergedTest): string {
  const attrs = `classname="${xmlAttr(suiteOf(t))}" name="${xmlAttr(testcaseName(t))}" time="${secs(t.status === 'missing' ? 0 : t.durationMs)}"`;
  const inner = outcome(t);
  return inner ? `    <testcase ${attrs}>${inner}</testcase>\n` : `    <testcase ${attrs}/>\n`;
}

/** Streams the XML; tests are grouped per batch first (one reference per test). */
export async function writeJunitReport(sink: Sink, tests: Iterable<MergedTest>, title: string): Promise<void> {
  const suites = countSuites(tests);
  const total = { tests: 0, failures: 0, errors: 0, timeMs: 0 };
  for (const s of suites.values()) {
    total.tests += s.tests;
    total.failures += s.failures;
    total.errors += s.errors;
    total.timeMs += s.timeMs;
  }
  await sink.write('<?xml version="1.0" encoding="UTF-8"?>\n');
  await sink.write(
    `<testsuites name="${xmlAttr(title)}" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" time="${secs(total.timeMs)}">\n`,
  );
  let id = 0;
  for (const [name, s] of suites) {
    await sink.write(
      `  <testsuite name="${xmlAttr(name)}" id="${id++}" tests="${s.tests}" failures="${s.failures}" errors="${s.errors}" skipped="${s.skipped}" time="${secs(s.timeMs)}">\n`,
    );
    for (const t of s.members) {
      const full = sink.write(testcase(t));
      if (full) await full;
    }
    await sink.write('  </testsuite>\n');
  }
  await sink.write('</testsuites>\n');
}
