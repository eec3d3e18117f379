import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the other capi executables are. Tools are spawned as `node <bin>` with this
 * process's node, never looked up on PATH, so a run uses the same checkout that launched
 * it. `CAPI_<TOOL>_BIN` (e.g. CAPI_EXEC_BIN) points one tool elsewhere: tests use it to
 * put a worker that misbehaves on purpose in place of capi-exec.
 */
export type ToolName = 'split' | 'exec' | 'merge' | 'watch' | 'launch';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * In the npm package (scripts/build-package.mjs) this code sits in lib/ next to the bundled tools
 * (lib/capi-exec.js, ...). In the repository it runs from capi-launch's own bundle,
 * tools/capi-launch/dist/capi-launch.js (scripts/bundle-tool.mjs), or from tsc's
 * libs/launch/dist/tools.js when a test imports it: either way three folders below the
 * root that holds tools/capi-x/bin/capi-x.js, each bin running its tool's bundle.
 */
export function toolBin(tool: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[`CAPI_${tool.toUpperCase()}_BIN`];
  if (override) return resolve(override);
  const bundled = join(here, `capi-${tool}.js`);
  if (existsSync(bundled)) return bundled;
  return join(resolve(here, '../../..'), 'tools', `capi-${tool}`, 'bin', `capi-${tool}.js`);
}

/** Finds an executable on PATH, as a shell would (screen and tmux are not node tools). */
export function findOnPath(command: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
