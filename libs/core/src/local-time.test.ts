import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localClock, localTime, localZone } from './local-time.js';

test('localTime: local wall clock with the UTC offset, or - when unknown', () => {
  const iso = '2026-01-01T10:30:05.123Z';
  const d = new Date(iso);
  const shown = localTime(iso);
  assert.match(shown, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
  // The offset says how far the shown clock is from UTC: reading it back gives the same instant.
  const [date, clock, zone] = shown.split(' ');
  assert.equal(Date.parse(`${date}T${clock}${zone}`), Math.floor(d.getTime() / 1000) * 1000);
  assert.equal(localTime(d.getTime()), shown);
  assert.equal(localTime(null), '-');
  assert.equal(localTime('not a time'), '-');
  assert.equal(localClock(iso), clock);
  assert.equal(localZone(d), zone);
});
