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

/**
 * Runtime dependencies bundled into the tools' chunks rather than loaded from node_modules:
 * undici's Client, which capi-exec deep-imports, is some 40 CommonJS files that node would
 * resolve, read and wrap one by one, and scan with cjs-module-lexer to import them from ESM.
 */
export const bundledDependencies = ['undici'];

/**
 * undici's Client requires its HTTP/2 side (client-h2.js) at load, and with it node:http2,
 * the costliest built-in a one-test run loads (docs/benchmarks.md, "capi-exec start-up,
 * fourteenth round"). capi never negotiates HTTP/2 (it leaves allowH2 off, so TLS offers
 * only http/1.1), so it stays bundled but is loaded on the first h2 connection only.
 */
const lazyHttp2 = {
  name: 'lazy-undici-h2',
  setup(b) {
    b.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/.test(args.importer)
        ? { path: 'undici/lib/dispatcher/client-h2.js', namespace: 'lazy-undici-h2', pluginData: args.resolveDir }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-undici-h2' }, (args) => ({
      contents: "module.exports = (client, socket) => require('./client-h2.js')(client, socket);\n",
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

/** esbuild options for `entryPoints` bundled into `outdir`. */
export function bundleOptions(entryPoints, outdir) {
  const libs = readdirSync(join(root, 'libs')).filter((l) => l !== 'testkit' && l !== 'demo-api');
  return {
    plugins: [noTestSupport, lazyHttp2],
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
    external: Object.keys(pkg.dependencies)
      .filter((d) => !bundledDependencies.includes(d))
      .flatMap((d) => [d, `${d}/*`]),
    // A bundled CommonJS module's require() of a node built-in (the only kind left outside the
    // bundle) needs a require in an ES module. Not node:module's createRequire: loading it (and
    // import.meta) costs every tool's --version some 1-2 ms.
    banner: {
      js: 'const require = (id) => { const m = process.getBuiltinModule(id); if (m) return m; throw new Error("cannot require " + id + ": not a node built-in"); };',
    },
    logLevel: 'warning',
  };
}
