import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runIsDead, runSupervisorPid } from './run-liveness.js';

test('runIsDead: running without a live supervisor; created without one only once no launch is under way', () => {
  const cases: Array<[state: string, alive: boolean, underWay: boolean | null, dead: boolean]> = [
    ['running', true, null, false],
    ['running', false, null, true],
    ['created', true, null, false],
    ['created', false, false, true],
    // a launch still splitting its suite holds the lock: never dead
    ['created', false, true, false],
    // the lock not looked at: not called dead
    ['created', false, null, false],
    ['completed', false, false, false],
    ['stopped', false, false, false],
    ['failed', false, false, false],
  ];
  for (const [state, supervisorAlive, launchUnderWay, dead] of cases)
    assert.equal(
      runIsDead({ state, supervisorAlive, launchUnderWay }),
      dead,
      `${state} ${supervisorAlive} ${launchUnderWay}`,
    );
});

test('runSupervisorPid: supervisor.pid first, else run.json pid, else null', () => {
  assert.equal(runSupervisorPid(10, 20), 10);
  assert.equal(runSupervisorPid(null, 20), 20);
  assert.equal(runSupervisorPid(null, null), null);
  assert.equal(runSupervisorPid(undefined, undefined), null);
});
