import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoToMs } from './iso-time.js';

test('isoToMs agrees with Date.parse', () => {
  const samples = [
    '2026-01-01T10:30:00.123Z',
    '2000-02-29T23:59:59.999Z',
    '1970-01-01T00:00:00.000Z',
    '2024-12-31T00:00:00.001Z',
  ];
  for (let t = -5e11; t < 5e12; t += 7_777_777_777) samples.push(new Date(t).toISOString());
  for (const s of samples) assert.equal(isoToMs(s), Date.parse(s), s);
  for (const s of [
    '2026-01-01T10:30:00Z',
    '2026-01-01 10:30:00.000Z',
    '2026-13-01T10:30:00.000Z',
    '2026-02-30T10:30:00.000Z',
    '2026-01-01T10:30:0x.000Z',
    'not a time at all here',
    '2026-01-01T10:30:00.000+01:00',
    // A non-digit in each field.
    'x026-01-01T10:30:00.000Z',
    '20x6-01-01T10:30:00.000Z',
    '2026-x1-01T10:30:00.000Z',
    '2026-01-x1T10:30:00.000Z',
    '2026-01-01Tx0:30:00.000Z',
    '2026-01-01T10:x0:00.000Z',
    '2026-01-01T10:30:x0.000Z',
    '2026-01-01T10:30:00.x00Z',
    '2026-01-01T10:30:00.00xZ',
    '2026-01-01T10:30:00.00/Z',
  ])
    assert.ok(Object.is(isoToMs(s), Date.parse(s)), s);
});
