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

const inUndici = (path) => /[\\/]node_modules[\\/]undici[\\/]lib[\\/]/.test(path);

/**
 * undici's invariants are `assert(value)` calls on node:assert; the shim checks them the
 * same way and loads node:assert only when one fails, to throw its AssertionError. undici
 * uses nothing else of the module: a bundled undici file that did (`assert.equal`, ...) fails
 * the build below rather than the shim at run time. Without a message, node's assert quotes
 * the call that failed, which would be the shim's own: the shim quotes undici's call as
 * node would (read from the source at the call, as node reads it), so a failed invariant
 * still says which one in capi-exec's result.
 */
const ASSERT_SHIM = `'use strict';
module.exports = function assert(value, message) {
  if (value) return;
  const nodeAssert = require('node:assert');
  if (message !== undefined) nodeAssert(value, message);
  const err = new nodeAssert.AssertionError({
    message: 'The expression evaluated to a falsy value:\\n\\n  ' + callOf(assert) + '\\n',
    actual: value,
    expected: true,
    operator: '==',
    stackStartFn: assert,
  });
  err.generatedMessage = true;
  throw err;
};

/** The text of the call of fn that failed (its line, from the call to its closing parenthesis), or where it is. */
function callOf(fn) {
  const { prepareStackTrace, stackTraceLimit } = Error;
  const holder = {};
  let site;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_, stack) => stack;
    Error.captureStackTrace(holder, fn);
    site = holder.stack[0];
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
  const where = site ? site.getFileName() + ':' + site.getLineNumber() + ':' + site.getColumnNumber() : 'undici';
  try {
    const file = site.getFileName();
    const text = require('node:fs').readFileSync(file.startsWith('file:') ? new URL(file) : file, 'utf8').split('\\n')[site.getLineNumber() - 1];
    const from = text.slice(site.getColumnNumber() - 1);
    let depth = 0;
    for (let i = 0; i < from.length; i++) {
      if (from[i] === '(') depth++;
      else if (from[i] === ')' && --depth === 0) return from.slice(0, i + 1);
    }
  } catch {}
  return 'assert(...) at ' + where;
}
`;

/**
 * Places where undici requires a built-in at load for what capi-exec does not use at start:
 * core/util.js keeps node:http's \`IncomingMessage\` to recognize one when it destroys a
 * stream (capi's bodies are strings and buffers; what it destroys are its sockets, told
 * apart by name first); dispatcher/client.js reads \`http.maxHeaderSize\` for a Client made
 * without \`maxHeaderSize\` (capi-exec's http-client.ts passes its own); web/fetch/util.js
 * keeps node:perf_hooks for fetch's timing info (capi does not fetch). Each is read at its
 * first use instead. Each patch must match undici's source exactly once, or the build
 * fails: an upgrade of undici is checked here.
 */
const UNDICI_PATCHES = {
  'core/util.js': [
    ["const { IncomingMessage } = require('node:http')\n", ''],
    [
      'Object.getPrototypeOf(stream).constructor === IncomingMessage',
      // an IncomingMessage exists only once node:http is loaded: a socket that undici destroys
      // (a `Connection: close` answer, a timeout, a server that closed an idle connection)
      // is told apart by its constructor's name, not by loading node:http
      "Object.getPrototypeOf(stream).constructor?.name === 'IncomingMessage' && Object.getPrototypeOf(stream).constructor === require('node:http').IncomingMessage",
    ],
  ],
  'web/fetch/util.js': [
    ["const { performance } = require('node:perf_hooks')\n", ''],
    [
      'return coarsenTime(performance.now(), crossOriginIsolatedCapability)',
      "return coarsenTime(require('node:perf_hooks').performance.now(), crossOriginIsolatedCapability)",
    ],
  ],
  'dispatcher/client.js': [
    ["const http = require('node:http')\n", ''],
    [
      `const getDefaultNodeMaxHeaderSize = http &&
  http.maxHeaderSize &&
  Number.isInteger(http.maxHeaderSize) &&
  http.maxHeaderSize > 0
  ? () => http.maxHeaderSize
  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }`,
      `const getDefaultNodeMaxHeaderSize = () => {
  const http = require('node:http')
  if (http && http.maxHeaderSize && Number.isInteger(http.maxHeaderSize) && http.maxHeaderSize > 0) return http.maxHeaderSize
  throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid')
}`,
    ],
  ],
};

/**
 * node:assert, node:http and node:perf_hooks, which undici's Client requires at load, cost a
 * one-test capi-exec run some 10-15 ms of its start (docs/benchmarks.md, "capi-exec start-up,
 * sixteenth round"): both are taken at their first real use instead (ASSERT_SHIM,
 * UNDICI_PATCHES).
 */
const lazyUndiciBuiltins = {
  name: 'lazy-undici-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:assert$/ }, (args) =>
      inUndici(args.importer) ? { path: 'node:assert', namespace: 'lazy-undici-assert' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-undici-assert' }, () => ({ contents: ASSERT_SHIM, loader: 'js' }));
    b.onLoad({ filter: /[\\/]node_modules[\\/]undici[\\/]lib[\\/].*\.js$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      const fail = (text) => ({ errors: [{ text: `${args.path}: ${text} (scripts/esbuild-options.mjs)` }] });
      if (/\bassert\.[A-Za-z]/.test(contents)) return fail('uses more of node:assert than assert(value)');
      const name = args.path.replace(/\\/g, '/').split('/undici/lib/')[1];
      for (const [from, to] of UNDICI_PATCHES[name] ?? []) {
        if (contents.split(from).length !== 2)
          return fail(`a patch no longer matches exactly once: ${from.split('\n')[0]}`);
        contents = contents.replace(from, () => to);
      }
      return { contents, loader: 'js' };
    });
  },
};

/** esbuild options for `entryPoints` bundled into `outdir`. */
export function bundleOptions(entryPoints, outdir) {
  const libs = readdirSync(join(root, 'libs')).filter((l) => l !== 'testkit' && l !== 'demo-api');
  return {
    plugins: [noTestSupport, lazyHttp2, lazyUndiciBuiltins],
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

/**
 * Tools whose entry is a loader of one CommonJS bundle run from a V8 code cache (core
 * code-cache.ts; docs/capi-exec.md, "Start-up and the code cache"), with the module and name
 * of the V8 flags the tool runs under (the loader sets them before it compiles) and of the
 * node built-ins it loads before them.
 */
export const codeCachedTools = {
  'capi-exec': {
    flags: join(root, 'libs', 'exec', 'src', 'v8-flags.ts'),
    name: 'EXEC_V8_FLAGS',
    startBuiltins: 'EXEC_START_BUILTINS',
  },
};

/**
 * Builds `tool` into `outdir` as `tool.code.cjs`, the whole tool in one CommonJS file (every
 * package it imports inside: its `require` gives node built-ins only), and `tool.js`, the ES
 * module loader that runs it from the cache, named by the bundle's content hash. Returns the
 * packages bundled, whose licences go with the code.
 */
export async function buildCodeCached(tool, outdir) {
  const { build } = await import('esbuild');
  const { createHash } = await import('node:crypto');
  const base = bundleOptions([], outdir);
  const code = join(outdir, `${tool}.code.cjs`);
  const made = await build({
    ...base,
    entryPoints: [join(root, 'tools', tool, 'src', 'main.ts')],
    outdir: undefined,
    outfile: code,
    format: 'cjs',
    splitting: false,
    chunkNames: undefined,
    external: [],
    // ES modules are strict; the same code as CommonJS is strict only if it says so
    banner: { js: "'use strict';" },
    metafile: true,
  });
  // import.meta and top-level await have no meaning in CommonJS: esbuild warns, and the tool would break
  if (made.warnings.length > 0) throw new Error(`${tool}: its CommonJS bundle had warnings (above)`);
  const key = createHash('sha256').update(readFileSync(code)).digest('hex').slice(0, 16);
  const { flags, name, startBuiltins } = codeCachedTools[tool];
  const loader = await build({
    ...base,
    entryPoints: undefined,
    stdin: {
      contents: [
        "import { fileURLToPath } from 'node:url';",
        `import { runCodeCached, worthKeepingCodeCache } from ${JSON.stringify(join(root, 'libs', 'core', 'src', 'code-cache.ts'))};`,
        `import { ${name}, ${startBuiltins} } from ${JSON.stringify(flags)};`,
        'runCodeCached({',
        `  code: fileURLToPath(new URL(${JSON.stringify(`./${tool}.code.cjs`)}, import.meta.url)),`,
        `  key: ${JSON.stringify(key)},`,
        `  name: ${JSON.stringify(tool)},`,
        `  v8Flags: ${name},`,
        `  startBuiltins: ${startBuiltins},`,
        '  worthKeeping: worthKeepingCodeCache,',
        '});',
      ].join('\n'),
      resolveDir: root,
      sourcefile: `${tool}-loader.ts`,
      loader: 'ts',
    },
    outdir: undefined,
    outfile: join(outdir, `${tool}.js`),
    splitting: false,
    chunkNames: undefined,
    metafile: true,
  });
  const inLoader = Object.keys(loader.metafile.inputs).filter((i) => !i.endsWith(`${tool}-loader.ts`));
  const expected = ['code-cache.ts', 'builtin-action.ts', 'folder-trust.ts', 'v8-flags.ts'];
  if (inLoader.some((i) => !expected.some((e) => i.endsWith(e))))
    throw new Error(`${tool}: its loader must hold only ${expected.join(', ')}, not ${inLoader.join(', ')}`);
  return [
    ...new Set(
      Object.keys(made.metafile.inputs)
        .map((i) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(i)?.[1])
        .filter(Boolean),
    ),
  ];
}
