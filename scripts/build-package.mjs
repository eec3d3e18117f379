#!/usr/bin/env node
// Assembles the npm package in dist/package (run by `npm run build`; `npm run pack` packs it):
//   lib/      one ES module per tool plus shared chunks, built by esbuild from the TypeScript
//             sources, capi's private workspace libraries (@capi/*) and undici's Client
//             inside (esbuild-options.mjs, bundledDependencies; its licence as lib/LICENSE.undici);
//             but capi-exec: lib/capi-exec.js is a loader of lib/capi-exec.code.cjs, the whole
//             tool in one CommonJS file run from a V8 code cache (buildCodeCached), with the
//             licences of the packages inside it;
//   bin/      the five commands, each a two-line shim over lib/capi-x.js;
//   man/      capi-x.1, printed by each tool itself (`--man`) from the citty definitions
//             that its --help reads;
//   node_modules/  the other runtime dependencies, copied from this checkout's tree exactly as
//             package-lock.json locks them, and shipped inside the tarball
//             (bundleDependencies), so `npm install -g capi-<version>.tgz` needs no
//             registry: a cron server or a remote host that cannot reach one installs it too;
//   package.json, README.md, docs/.
// Nothing of the monorepo's dev tooling (nx, biome, typescript, newman, autocannon) is in it.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import {
  buildCodeCached,
  bundledDependencies,
  bundleOptions,
  codeCachedTools,
  root,
  threadEntries,
} from './esbuild-options.mjs';

const out = join(root, 'dist', 'package');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const tools = Object.keys(pkg.bin);
// what the bundles still import from node_modules at run time (undici is inside them)
const dependencies = Object.fromEntries(
  Object.entries(pkg.dependencies).filter(([d]) => !bundledDependencies.includes(d)),
);
const started = Date.now();

rmSync(out, { recursive: true, force: true });
// chunks sit next to the tools, where capi-launch finds the tools it starts (libs/launch/src/tools.ts)
await build(
  bundleOptions(
    {
      ...Object.fromEntries(
        tools.filter((t) => !(t in codeCachedTools)).map((t) => [t, join(root, 'tools', t, 'src/main.ts')]),
      ),
      ...threadEntries,
    },
    join(out, 'lib'),
  ),
);
// capi-exec: a loader and the whole tool in one CommonJS file, run from a V8 code cache
const inCodeCached = new Set();
for (const t of Object.keys(codeCachedTools))
  for (const d of await buildCodeCached(t, join(out, 'lib'))) inCodeCached.add(d);
// capi-split reads its version from ../package.json, as in the repository
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify(
    {
      name: pkg.name,
      version: pkg.version,
      description: pkg.description,
      license: pkg.license,
      type: 'module',
      engines: pkg.engines,
      bin: Object.fromEntries(tools.map((t) => [t, `bin/${t}.js`])),
      man: tools.map((t) => `man/${t}.1`),
      dependencies,
      bundleDependencies: Object.keys(dependencies),
    },
    null,
    2,
  )}\n`,
);

mkdirSync(join(out, 'bin'));
for (const tool of tools) {
  const shim = join(out, 'bin', `${tool}.js`);
  writeFileSync(shim, `#!/usr/bin/env node\nimport '../lib/${tool}.js';\n`);
  chmodSync(shim, 0o755);
}

// man/capi-x.1: each bundled tool prints its own page
mkdirSync(join(out, 'man'));
for (const tool of tools) {
  const page = execFileSync(process.execPath, [join(out, 'bin', `${tool}.js`), '--man'], { encoding: 'utf8' });
  writeFileSync(join(out, 'man', `${tool}.1`), page);
}

/** Where node would find `name` from the package at lock location `from` (nested first). */
function locate(from, name) {
  for (let base = from; ; ) {
    const at = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[at]) return at;
    if (!base) return null;
    const i = base.lastIndexOf('/node_modules/');
    base = i === -1 ? '' : base.slice(0, i);
  }
}

/** Every lock location the runtime dependencies need, transitively (optional ones if installed). */
function runtimeTree() {
  const seen = new Set();
  const queue = Object.keys(dependencies).map((d) => locate('', d));
  while (queue.length > 0) {
    const at = queue.pop();
    if (!at || seen.has(at)) continue;
    const entry = lock.packages[at];
    if (entry.link) throw new Error(`${at} is a workspace link, not a package the tarball can hold`);
    seen.add(at);
    const wanted = { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies };
    for (const name of Object.keys(wanted)) {
      const found = locate(at, name);
      if (found) queue.push(found);
      else if (!(name in (entry.optionalDependencies ?? {})) && !entry.peerDependenciesMeta?.[name]?.optional)
        throw new Error(`${at} needs ${name}, which package-lock.json does not hold`);
    }
  }
  return [...seen].sort();
}

const tree = runtimeTree();
for (const at of tree) {
  if (tree.some((other) => at.startsWith(`${other}/`))) continue; // inside a folder already copied
  cpSync(join(root, at), join(out, at), {
    recursive: true,
    // a nested node_modules/.bin holds links into the checkout: npm makes its own
    filter: (src) => !src.endsWith(`${'/node_modules/.bin'}`),
  });
}

// a bundled dependency's licence goes with its code: lib/LICENSE.undici
for (const d of new Set([...bundledDependencies, ...inCodeCached]))
  cpSync(join(root, 'node_modules', d, 'LICENSE'), join(out, 'lib', `LICENSE.${d}`));
cpSync(join(root, 'README.md'), join(out, 'README.md'));
cpSync(join(root, 'docs'), join(out, 'docs'), { recursive: true });
process.stderr.write(
  `build-package: dist/package: ${tools.length} tools, their man pages, ${tree.length} runtime packages (${Date.now() - started} ms)\n`,
);
