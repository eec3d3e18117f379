import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from './http-client.js';
import { startDemoApi } from './server.js';

async function withApi(
  opts: Parameters<typeof startDemoApi>[0],
  fn: (call: ReturnType<typeof createClient>['call']) => Promise<void>,
): Promise<void> {
  const api = await startDemoApi(opts);
  const client = createClient(api.url);
  try {
    await fn(client.call);
  } finally {
    await client.close();
    await api.close();
  }
}

async function statuses(call: ReturnType<typeof createClient>['call'], path: string, n: number) {
  const out: (number | 'reset')[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await call(path).then(
        (r) => r.status,
        () => 'reset' as const,
      ),
    );
  return out;
}

test('latency option and ?latency= delay every answer', async () => {
  await withApi({ latencyMs: 300 }, async (call) => {
    const r = await call('/health');
    assert.ok(r.ms >= 295, `took ${r.ms}`);
    const q = await call('/health?latency=400');
    assert.ok(q.ms >= 395, `took ${q.ms}`);
    const z = await call('/health?latency=0');
    assert.ok(z.ms < 250, `took ${z.ms}`);
  });
});

test('jitter adds 0..jitter ms on top of latency', async () => {
  await withApi({ seed: 7 }, async (call) => {
    const times = [];
    for (let i = 0; i < 6; i++) times.push((await call('/health?latency=20&jitter=60')).ms);
    assert.ok(Math.min(...times) >= 18, times.join(','));
    // Generous: a busy machine adds its own delay on top.
    assert.ok(Math.max(...times) < 20 + 60 + 500, times.join(','));
    assert.ok(Math.max(...times) - Math.min(...times) > 3, `no spread: ${times.join(',')}`);
  });
});

test('errorRate 1 answers 500 everywhere; ?error=0 turns it off per request', async () => {
  await withApi({ errorRate: 1 }, async (call) => {
    const r = await call('/items/1');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { error: 'injected error' });
    assert.equal((await call('/items/1?error=0')).status, 200);
  });
});

test('?error=0.5 with a seed fails a deterministic share', async () => {
  const runs: (number | 'reset')[][] = [];
  for (let k = 0; k < 2; k++) {
    await withApi({ seed: 42 }, async (call) => {
      runs.push(await statuses(call, '/health?error=0.5', 40));
    });
  }
  assert.deepEqual(runs[0], runs[1], 'same seed, same faults');
  const fails = runs[0]!.filter((s) => s === 500).length;
  assert.ok(fails > 5 && fails < 35, `${fails} of 40`);
});

test('resetRate 1 destroys sockets; ?reset=0 answers', async () => {
  await withApi({ resetRate: 1 }, async (call) => {
    assert.deepEqual(await statuses(call, '/health', 2), ['reset', 'reset']);
    assert.equal((await call('/health?reset=0')).status, 200);
  });
});

test('slowBodyMs drips the body over that time, the body stays whole', async () => {
  await withApi({ slowBodyMs: 150 }, async (call) => {
    const r = await call('/items/5');
    assert.ok(r.ms >= 130, `took ${r.ms}`);
    assert.equal((r.json() as { name: string }).name, 'item-5');
    const b = await call('/bytes/300000?slow=100');
    assert.equal(b.text.length, 300000);
    assert.ok(b.ms >= 90, `took ${b.ms}`);
  });
});

test('rateLimit: a token bucket for the whole server, 429 with Retry-After beyond it', async () => {
  // One request per 5 s: the first passes, the rest of a burst cannot earn a token in time.
  await withApi({ rateLimit: 0.2, retryAfterS: 2 }, async (call) => {
    const out = await Promise.all(Array.from({ length: 6 }, (_, i) => call(`/items/${i}`).then((r) => r.status)));
    assert.deepEqual([...out].sort(), [200, 429, 429, 429, 429, 429]);
    const r = await call('/health');
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '2');
    assert.deepEqual(r.json(), { error: 'rate limited' });
  });
});

test('/ratelimit allows 10 per second by default', async () => {
  await withApi({}, async (call) => {
    const started = performance.now();
    const out = await Promise.all(Array.from({ length: 14 }, () => call('/ratelimit').then((r) => r.status)));
    const elapsedS = (performance.now() - started) / 1000;
    const ok = out.filter((s) => s === 200).length;
    // A burst of 10, plus what a busy machine earned back while the burst was served.
    assert.ok(ok >= 10 && ok <= 10 + Math.ceil(elapsedS * 10), `${out.join(',')} in ${elapsedS} s`);
  });
});

test('token from the option, else DEMO_TOKEN, else demo-secret', async () => {
  const saved = process.env.DEMO_TOKEN;
  try {
    process.env.DEMO_TOKEN = 'from-env';
    await withApi({}, async (call) => {
      assert.equal((await call('/secure', { headers: { authorization: 'Bearer from-env' } })).status, 200);
    });
    delete process.env.DEMO_TOKEN;
    await withApi({}, async (call) => {
      assert.equal((await call('/secure', { headers: { authorization: 'Bearer demo-secret' } })).status, 200);
    });
  } finally {
    if (saved === undefined) delete process.env.DEMO_TOKEN;
    else process.env.DEMO_TOKEN = saved;
  }
});

test('bad options are refused', async () => {
  await assert.rejects(startDemoApi({ errorRate: 2 }), RangeError);
  await assert.rejects(startDemoApi({ latencyMs: -1 }), RangeError);
});

test('close() ends pending slow requests, and a second close() is fine', async () => {
  const api = await startDemoApi();
  const client = createClient(api.url);
  const pending = client.call('/delay/30000').catch((err: Error) => err);
  await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  await api.close();
  assert.ok(performance.now() - started < 2000);
  assert.ok((await pending) instanceof Error);
  await api.close();
  await client.close();
});
