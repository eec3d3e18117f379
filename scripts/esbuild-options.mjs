// The esbuild options both bundles share: the npm package's lib/ (build-package.mjs) and each
// tool's own bundle in the repository (bundle-tool.mjs), so that the checkout runs the code
// the package ships, built the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Test scaffolding lives in `src/test-support/` folders (stand-in programs, harnesses,
 * fixtures) and `*.test.ts` files: built to each project's dist/ for the tests, never
 * into a bundle. A tool or library that imported one would fail the build here.
 */
const noTestSupport = {
  name: 'no-test-support',
  setup(b) {
    b.onLoad({ filter: /[\\/]test-support[\\/]|\.test\.ts$/ }, (args) => ({
      errors: [{ text: `${args.path}: test support code must not ship in the package` }],
    }));
  },
};

/** capi-split --out's file thread, started as new URL('./batch-file-thread.js', import.meta.url): it sits next to the tool. */
export const threadEntries = {
  'batch-file-thread': join(root, 'libs', 'split', 'src', 'batch-file-thread.ts'),
};

/** esbuild options for `entryPoints` bundled into `outdir`. */
export function bundleOptions(entryPoints, outdir) {
  const libs = readdirSync(join(root, 'libs')).filter((l) => l !== 'testkit' && l !== 'demo-api');
  return {
    plugins: [noTestSupport],
    entryPoints,
    outdir,
    bundle: true,
    // each tool's command (and undici with capi-exec's) is a chunk of its own, imported only
    // when the command runs, so that --version loads little
    splitting: true,
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // the libraries from their sources, so a bundle needs no tsc output
    alias: Object.fromEntries(libs.map((l) => [`@capi/${l}`, join(root, 'libs', l, 'src/index.ts')])),
    external: Object.keys(pkg.dependencies).flatMap((d) => [d, `${d}/*`]),
    logLevel: 'warning',
  };
}
