import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forHosts, type HostControl } from './host-control.js';

const text = (c: Record<string, unknown>) => JSON.stringify({ paused: false, concurrency: 8, workers: 4, ...c });
const rateSent = (t: string) => (JSON.parse(t) as { rate: unknown }).rate;

test('--hosts: a control.json rate capi-exec does not take is sent as the last one taken, said once per change', () => {
  for (const bad of ['fast', -3, {}, 'none', '0/s', 50, undefined]) {
    const kept: HostControl = {};
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const good = text({ rate: '40/s' });
    assert.equal(forHosts(good, kept, '10/s', log), good, 'a rate taken goes as it is');
    const sent = forHosts(text({ rate: bad }), kept, '10/s', log);
    assert.equal(rateSent(sent), '40/s', `rate ${JSON.stringify(bad)}: the last taken, not no limit`);
    assert.deepEqual(JSON.parse(sent).workers, 4, 'the rest of the file as it is');
    forHosts(text({ rate: bad, paused: true }), kept, '10/s', log);
    assert.equal(lines.length, 1, JSON.stringify(bad));
    assert.match(
      lines[0] as string,
      /^control\.json: "rate" .* is not taken .*: the hosts get 40\/s \(the last rate taken\)$/,
    );
  }
});

test("--hosts: before any rate was taken, run.json's copy is sent; null (--set rate=none) is taken as no limit", () => {
  const lines: string[] = [];
  const kept: HostControl = {};
  assert.equal(rateSent(forHosts(text({ rate: 'fast' }), kept, '120/m', (l) => lines.push(l))), '120/m');
  assert.match(lines[0] as string, /the hosts get 120\/m \(run\.json's options\.rate\)$/);
  const none = text({ rate: null });
  assert.equal(
    forHosts(none, kept, '120/m', () => {}),
    none,
  );
  assert.equal(rateSent(forHosts(text({ rate: 'fast' }), kept, '120/m', () => {})), null, 'the last taken: no limit');
  // run.json's copy not taken either, or a file that is not JSON: sent as it is
  const odd = text({ rate: 'fast' });
  assert.equal(
    forHosts(odd, {}, 'junk', () => {}),
    odd,
  );
  for (const t of ['{', '{"stop":true}'])
    assert.equal(
      forHosts(t, { rate: '5/s' }, '10/s', () => {}),
      t === '{"stop":true}' ? '{"stop":true,"rate":"5/s"}\n' : t,
    );
});

test('--hosts: JSON that is no object (null, a list, a number) is every field missing, as capi-exec reads it: the hosts get the rate kept, not no limit', () => {
  for (const t of ['null', '[]', '[1]', '5', '"x"']) {
    const lines: string[] = [];
    // before any rate taken: run.json's copy and the attempt's slots, as for {}
    assert.equal(
      forHosts(t, {}, '10/s', (l) => lines.push(l), 3),
      '{"rate":"10/s","workers":3}\n',
      t,
    );
    assert.match(lines[0] as string, /^control\.json: "rate" \(missing\) is not taken .*: the hosts get 10\/s/, t);
    assert.equal(
      forHosts(t, { rate: '5/s' }, '10/s', () => {}),
      '{"rate":"5/s"}\n',
      t,
    );
    assert.equal(
      forHosts(t, {}, '10/s', () => {}, 3),
      forHosts('{}', {}, '10/s', () => {}, 3),
      `${t} reads as {}`,
    );
  }
});

test("--hosts: a control.json workers capi-exec does not take is sent as the last one taken (before any, the attempt's slots), not read as 1", () => {
  for (const bad of [0, -2, 1.5, '4', null, {}, true, undefined]) {
    const kept: HostControl = {};
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const good = text({ rate: '40/s', workers: 3 });
    assert.equal(forHosts(good, kept, '10/s', log, 8), good, 'workers taken go as they are');
    const sent = JSON.parse(forHosts(text({ rate: '40/s', workers: bad }), kept, '10/s', log, 8));
    assert.equal(sent.workers, 3, `workers ${JSON.stringify(bad)}: the last taken`);
    assert.equal(sent.rate, '40/s');
    forHosts(text({ rate: '40/s', workers: bad, paused: true }), kept, '10/s', log, 8);
    assert.equal(lines.length, 1, JSON.stringify(bad));
    assert.match(
      lines[0] as string,
      /^control\.json: "workers" .* is not taken \(a whole number, 1 or more\): the hosts share the rate by 3 \(the last taken\)$/,
    );
  }
  const lines: string[] = [];
  const first = JSON.parse(forHosts(text({ rate: 'fast', workers: 0 }), {}, '10/s', (l) => lines.push(l), 8));
  assert.deepEqual([first.rate, first.workers], ['10/s', 8]);
  assert.match(
    lines[0] as string,
    /the hosts get 10\/s \(run\.json's options\.rate\); "workers" 0 is not taken .* by 8 \(the attempt's slots\)$/,
  );
});
