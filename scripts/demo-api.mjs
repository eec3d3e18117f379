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
  --token T           Bearer token for /secure (default $DEMO_TOKEN or demo-secret)
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
};

function parse() {
  const options = { host: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const flag of Object.keys(numeric)) options[flag] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return null;
  }
  const opts = { host: values.host, token: values.token };
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
  const api = await startDemoApi(opts);
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
