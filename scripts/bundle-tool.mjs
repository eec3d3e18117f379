#!/usr/bin/env node
// A tool's own bundle, the last step of its build (`build` in tools/capi-x/package.json, run
// in that folder): dist/capi-x.js and its chunks, built as the npm package builds its lib/
// (esbuild-options.mjs). bin/capi-x.js runs it. A tool started from tsc's output loads some
// 115 module files, each resolved and read apart; the bundle loads a handful, which is about
// a quarter of a worker's start-up CPU (docs/benchmarks.md, "capi-launch, fourth round").
// tsc's output stays next to it for the tests, which import it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildCodeCached, bundleOptions, codeCachedTools, threadEntries } from './esbuild-options.mjs';

const dir = process.cwd();
const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
if (!/^capi-[a-z]+$/.test(name)) throw new Error(`bundle-tool: run it in a tool's folder, not ${dir}`);
if (name in codeCachedTools) await buildCodeCached(name, join(dir, 'dist'));
else
  await build(
    bundleOptions(
      { [name]: join(dir, 'src', 'main.ts'), ...(name === 'capi-split' ? threadEntries : {}) },
      join(dir, 'dist'),
    ),
  );
