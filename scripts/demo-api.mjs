#!/usr/bin/env node
// Runs the demo API standalone: the first stdout line is its URL, so scripts can read it.
import { parseArgs } from 'node:util';
import { startDemoApi } from '../libs/demo-api/dist/index.js';

const usage = `Usage: node scripts/demo-api.mjs [options]

  --host H            address to listen on (default 127.0.0.1)
  --port N            port (default 0: any free port)
  --latency MS        added to every answer
  --jitter MS         random extra latency, 0..MS
  --error-rate R      0..1: share of requests answered 500
  --reset-rate R      0..1: share of requests whose socket is destroyed
  --slow MS           drip every body over MS
  --rate-limit N      requests per second allowed; 429 + Retry-After beyond
  --retry-after S     Retry-After seconds on 429 (default: time until a token)
  --token T           static Bearer token for GET /secure (default $DEMO_TOKEN or demo-secret)
  --client-id ID      client id POST /auth/token accepts (default $DEMO_CLIENT_ID or demo-client)
  --client-secret S   its secret (default $DEMO_CLIENT_SECRET or demo-client-secret)
  --token-ttl S       lifetime of issued tokens, whole seconds (default 3600)
  --seed N            seed for deterministic fault injection
  -h, --help          this help

Stops on SIGINT / SIGTERM.`;

const numeric = {
  port: 'port',
  latency: 'latencyMs',
  jitter: 'jitterMs',
  'error-rate': 'errorRate',
  'reset-rate': 'resetRate',
  slow: 'slowBodyMs',
  'rate-limit': 'rateLimit',
  'retry-after': 'retryAfterS',
  seed: 'seed',
  'token-ttl': 'tokenTtlS',
};

function parse() {
  const options = {
    host: { type: 'string' },
    token: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const flag of Object.keys(numeric)) options[flag] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return null;
  }
  const opts = {
    host: values.host,
    token: values.token,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
  };
  for (const [flag, key] of Object.entries(numeric)) {
    if (values[flag] === undefined) continue;
    const n = Number(values[flag]);
    if (values[flag] === '' || !Number.isFinite(n)) throw new Error(`--${flag}: not a number: "${values[flag]}"`);
    opts[key] = n;
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parse();
  } catch (err) {
    process.stderr.write(`demo-api: ${err.message}\nTry 'node scripts/demo-api.mjs --help' for more information.\n`);
    process.exitCode = 2;
    return;
  }
  if (!opts) return;
  let api;
  try {
    api = await startDemoApi(opts);
  } catch (err) {
    // Option values out of range (a fractional --token-ttl, an empty --client-secret) are usage errors.
    if (!(err instanceof RangeError)) throw err;
    process.stderr.write(`${err.message}\nTry 'node scripts/demo-api.mjs --help' for more information.\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`demo API listening on ${api.url}\n`);
  const stop = (signal) => {
    api.close().then(() => {
      process.stderr.write(`demo-api: stopped (${signal}), ${api.stats().requests} requests served\n`);
      process.exitCode = signal === 'SIGINT' ? 130 : 143;
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`demo-api: ${err.message}\n`);
  process.exitCode = 3;
});
