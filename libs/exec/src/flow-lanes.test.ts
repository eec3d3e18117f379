import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeTestRecord, type TestRecord } from '@capi/core';
import { createFlowLanes } from './flow-lanes.js';
import { resumeFlows } from './flow-resume.js';

const row = (id: string, flow?: string): TestRecord =>
  normalizeTestRecord({ id, request: { method: 'GET', url: `/${id}` }, ...(flow ? { flow } : {}) }, 0);
const flowRow = (id: string, flow: string) => row(id, flow) as TestRecord & { flow: string };

test('a flow runs one row at a time: rows read while it is busy are held and come next in order', () => {
  const lanes = createFlowLanes();
  assert.deepEqual(lanes.admit(flowRow('a1', 'a')), { start: true });
  assert.deepEqual(lanes.admit(flowRow('b1', 'b')), { start: true });
  assert.deepEqual(lanes.admit(flowRow('a2', 'a')), { held: true });
  assert.deepEqual(lanes.admit(flowRow('a3', 'a')), { held: true });
  assert.equal(lanes.held, 2);
  lanes.capture('a', { id: '1' });
  assert.equal(lanes.after('a', 'a1', 'passed').next?.id, 'a2');
  assert.equal(lanes.after('a', 'a2', 'passed').next?.id, 'a3');
  assert.equal(lanes.after('a', 'a3', 'passed').next, null);
  assert.equal(lanes.held, 0);
  assert.deepEqual({ ...lanes.values('a') }, { id: '1' });
  assert.deepEqual({ ...lanes.values('b') }, {}, 'no flow sees another flow values');
  // Idle again: the next row of the flow starts a lane of its own.
  assert.deepEqual(lanes.admit(flowRow('a4', 'a')), { start: true });
});

test('a failed row stops its flow: held rows and later ones are not sent, saying which row', () => {
  const lanes = createFlowLanes();
  lanes.admit(flowRow('a1', 'a'));
  lanes.admit(flowRow('a2', 'a'));
  const { next, stopped } = lanes.after('a', 'a1', 'error');
  assert.equal(next, null);
  assert.deepEqual(
    stopped.map((r) => r.id),
    ['a2'],
  );
  assert.deepEqual(lanes.admit(flowRow('a3', 'a')), { stopped: 'not sent: row a1 of flow a ended in an error' });
  // A cut row (a stop) drops the held rows unrecorded: a resume runs the flow again.
  lanes.admit(flowRow('b1', 'b'));
  lanes.admit(flowRow('b2', 'b'));
  assert.deepEqual(lanes.after('b', 'b1', null), { next: null, stopped: [] });
  assert.equal(lanes.held, 0);
});

/** The rows in chunks of two: a flow's rows come in different chunks. */
async function* from(rows: TestRecord[]): AsyncGenerator<TestRecord[]> {
  for (let i = 0; i < rows.length; i += 2) yield rows.slice(i, i + 2);
}

test('resume: a complete flow is skipped, a cut one runs again from its first row with flowRun', async () => {
  const done = new Set(['a1', 'a2', 'b1', 's1']);
  const settled: string[] = [];
  const rerun = new Map<string, number>();
  const rows = [row('a1', 'a'), row('b1', 'b'), row('s1'), row('a2', 'a'), row('b2', 'b'), row('s2'), row('c1', 'c')];
  const out: string[] = [];
  const parts = {
    isDone: (r: TestRecord) => done.has(r.id),
    settle: (r: TestRecord) => settled.push(r.id),
    journaled: new Map([['b', 2]]),
    rerun,
  };
  const single = (r: TestRecord) => {
    if (!done.has(r.id)) return true;
    settled.push(r.id);
    return false;
  };
  for await (const chunk of resumeFlows(from(rows), parts, single)) for (const r of chunk) out.push(r.id);
  assert.deepEqual(out, ['b1', 'b2', 's2', 'c1']);
  assert.deepEqual(settled.sort(), ['a1', 'a2', 's1']);
  assert.deepEqual([...rerun], [['b', 3]]);
});
