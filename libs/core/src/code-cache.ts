import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { beforeDashes, builtinAction } from './builtin-action.js';

/**
 * A tool's code run from a V8 code cache: what Node 22's `module.enableCompileCache()` does,
 * which Node 20 lacks (docs/capi-exec.md, "Start-up and the code cache"). A one-test capi-exec
 * spends about a third of its CPU compiling its own and undici's functions as they are first
 * called; the cache holds their bytecode, written once after a run that ran tests and read at
 * every start after it. capi-exec's entry is this loader and nothing else, so it imports only
 * node built-ins: the bundle it runs is one CommonJS file holding the whole tool.
 *
 * V8 takes a cache only for the same V8, the same flags and a source of the same length, and
 * runs whatever bytecode a taken cache holds: so the cache is named by the bundle's content
 * hash (from the build) and read only from a folder and file of this user that no one else
 * may write, never through a symbolic link. Anything wrong with it is silent: the tool then
 * compiles as it would without a cache.
 */

export interface CodeCached {
  /** The CommonJS bundle's path. */
  code: string;
  /** The bundle's content hash, put into the loader by the build. */
  key: string;
  /** The tool: the cache file's name starts with it. */
  name: string;
  /**
   * V8 flags the tool sets: set here before the compile, since V8 rejects a cache made under
   * other flags, and a cache is made at the end of a run, after the tool has set them.
   */
  v8Flags: readonly string[];
  /** Whether a run that ends with this exit code should leave a cache (one that ran tests compiled their path). */
  worthKeeping: (exitCode: number) => boolean;
  env?: NodeJS.ProcessEnv;
}

/** Caches of another build or Node not touched for this long are removed when a new one is written. */
export const STALE_CACHE_MS = 7 * 24 * 3600 * 1000;

/**
 * The cache folder: `CAPI_CODE_CACHE` (a folder, or `off`), else `$XDG_CACHE_HOME/capi`,
 * else `~/.cache/capi`; null when off or no home is known.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env.CAPI_CODE_CACHE;
  if (set === 'off' || set === '0') return null;
  if (set) return set;
  if (env.XDG_CACHE_HOME?.startsWith('/')) return join(env.XDG_CACHE_HOME, 'capi');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      return null;
    }
  }
  return home ? join(home, '.cache', 'capi') : null;
}

const myUid = () => (typeof process.getuid === 'function' ? process.getuid() : -1);

/** Ours alone: owned by this user, writable by no one else. */
const ours = (st: Stats) => st.uid === myUid() && (st.mode & 0o022) === 0;

/** The folder, made (0700) when missing, if it is a real folder of ours; else null. */
function ownFolder(dir: string): string | null {
  try {
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = lstatSync(dir);
    }
    return st.isDirectory() && ours(st) ? dir : null;
  } catch {
    return null;
  }
}

/** The cache's bytes, if the file is a regular file of ours (opened without following a link). */
export function readCodeCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    return st.isFile() && ours(st) ? readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the cache whole or not at all (a temporary file of its own, renamed over), and
 * removes this tool's caches of other builds or Nodes not touched for STALE_CACHE_MS.
 * Never throws: a full disk or a read-only home costs only the next start's compile.
 */
export function writeCodeCache(file: string, data: Buffer, name: string, now = Date.now()): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { flag: 'wx', mode: 0o600 });
    renameSync(temp, file);
  } catch {
    try {
      unlinkSync(temp);
    } catch {}
    return false;
  }
  try {
    const dir = dirname(file);
    for (const other of readdirSync(dir)) {
      const path = join(dir, other);
      if (path === file || !other.startsWith(`${name}-`) || !other.endsWith('.v8cache')) continue;
      const st = lstatSync(path);
      if (st.isFile() && now - st.mtimeMs > STALE_CACHE_MS) unlinkSync(path);
    }
  } catch {}
  return true;
}

/**
 * A run worth leaving a cache: one that ended 0 or 1 (it ran its tests: passed or failed),
 * not one the tool answered itself (--help, --version…), which compiled little of it. A
 * cache V8 takes is kept as it is, so the first one written is the one every start reads.
 */
export const worthKeepingCodeCache = (exitCode: number, argv = process.argv.slice(2)) =>
  (exitCode === 0 || exitCode === 1) && builtinAction(beforeDashes(argv)) === null;

/** The cache file of this bundle, V8 and platform in `dir`. */
export const codeCacheFile = (dir: string, o: Pick<CodeCached, 'name' | 'key'>) =>
  join(dir, `${o.name}-${o.key}-${process.version}-${process.arch}.v8cache`);

/**
 * Runs the bundle as CommonJS (its `require` gives node built-ins only: everything else is
 * inside it) from the cache when V8 takes it; when there was none, or V8 refused it, a run
 * worth keeping leaves a new one at its exit, with every function the run compiled.
 */
export function runCodeCached(o: CodeCached): void {
  for (const flag of o.v8Flags) setFlagsFromString(flag);
  const dir = codeCacheDir(o.env);
  const folder = dir === null ? null : ownFolder(dir);
  const file = folder === null ? null : codeCacheFile(folder, o);
  const cachedData = file === null ? undefined : readCodeCache(file);
  const source = readFileSync(o.code, 'utf8');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: o.code,
    cachedData,
  });
  if (file !== null && (cachedData === undefined || script.cachedDataRejected === true))
    process.once('exit', (code) => {
      if (o.worthKeeping(code)) writeCodeCache(file, script.createCachedData(), o.name);
    });
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, builtinRequire, module, o.code, dirname(o.code));
}

function builtinRequire(id: string): unknown {
  const m = process.getBuiltinModule(id);
  if (m) return m;
  throw new Error(`cannot require ${id}: not a node built-in (the bundle holds everything else)`);
}
