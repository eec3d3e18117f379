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
import { dirname, isAbsolute, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { beforeDashes, builtinAction } from './builtin-action.js';
import { currentUid, folderTrusted } from './folder-trust.js';

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
  /**
   * Node built-ins every run of the tool loads as it starts, loaded here before any V8 flag
   * is set: node compiles its built-ins from a code cache of its own, made under V8's default
   * flags, which V8 refuses once a flag is set, so a built-in first required after the flags
   * is compiled from its source (some 4 ms of a one-test capi-exec start; docs/benchmarks.md,
   * "capi-exec start-up, sixteenth round").
   */
  startBuiltins?: readonly string[];
  /** Whether a run that ends with this exit code should leave a cache (one that ran tests compiled their path). */
  worthKeeping: (exitCode: number) => boolean;
  env?: NodeJS.ProcessEnv;
}

/** Caches of another build or Node not touched for this long are removed when a new one is written. */
export const STALE_CACHE_MS = 7 * 24 * 3600 * 1000;

/** `CAPI_CODE_CACHE` values that turn the cache off. */
const OFF = new Set(['off', '0', 'false', 'no']);

/**
 * The cache folder: `CAPI_CODE_CACHE` (an absolute folder, or `off`), else
 * `$XDG_CACHE_HOME/capi` (an absolute one), else `~/.cache/capi`; null when off, when
 * `CAPI_CODE_CACHE` is relative (it would make folders wherever capi-exec runs) or no home
 * is known.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env.CAPI_CODE_CACHE;
  if (set) return OFF.has(set.toLowerCase()) || !isAbsolute(set) ? null : set;
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'capi');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      return null;
    }
  }
  return home && isAbsolute(home) ? join(home, '.cache', 'capi') : null;
}

/** No user ids to compare (not POSIX): -1, no one's, so nothing is ours (and only root's folders trusted). */
const myUid = () => currentUid() ?? -1;

/**
 * Ours alone: owned by this user (not root), writable by no one else, sticky or not: stricter
 * than a trusted folder on purpose, since the cache and its folder are what V8 runs from.
 */
const ours = (st: Stats) => st.uid === myUid() && (st.mode & 0o022) === 0;

/** A folder no one else can rename things in: core's one folder-trust rule (folder-trust.ts, owner.ts's too). */
const trusted = (st: Stats) => st.isDirectory() && folderTrusted(st, myUid());

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Whether `dir` may take a cache: a real folder of ours in a trusted folder (so no one else
 * can swap it between this check and the write). A missing one is made 0700, as is a missing
 * parent (`~/.cache`), but only inside a folder this user owns: root running with another
 * user's HOME (`sudo -E`) makes nothing in that home, where a root-owned `~/.cache` would
 * lock the user out of it.
 */
export function cacheFolderReady(dir: string): boolean {
  try {
    const st = lstatOrNull(dir);
    if (st) {
      const up = lstatOrNull(dirname(dir));
      return st.isDirectory() && ours(st) && up !== null && trusted(up);
    }
    const parent = dirname(dir);
    let up = lstatOrNull(parent);
    if (!up) {
      const home = lstatOrNull(dirname(parent));
      if (!home?.isDirectory() || home.uid !== myUid()) return false;
      mkdirSync(parent, { mode: 0o700 });
      up = lstatOrNull(parent);
    }
    if (!up?.isDirectory() || up.uid !== myUid() || !trusted(up)) return false;
    mkdirSync(dir, { mode: 0o700 });
    const made = lstatOrNull(dir);
    return made?.isDirectory() === true && ours(made);
  } catch {
    return false;
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

/** A temporary file left by a writer killed in its write is removed after this long. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * Writes the cache whole or not at all (a temporary file of its own, renamed over), and
 * removes this tool's caches of other builds or Nodes not touched for STALE_CACHE_MS and
 * temporary files left by killed writers. Never throws: a full disk or a read-only home
 * costs only the next start's compile.
 */
export function writeCodeCache(file: string, data: Buffer, name: string, now = Date.now()): boolean {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
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
      if (path === file || !other.startsWith(`${name}-`)) continue;
      const age = other.endsWith('.v8cache') ? STALE_CACHE_MS : other.endsWith('.tmp') ? STALE_TEMP_MS : null;
      if (age === null) continue;
      const st = lstatSync(path);
      if (st.isFile() && now - st.mtimeMs > age) unlinkSync(path);
    }
  } catch {}
  return true;
}

/**
 * Set once a test of the run got an answer that was judged (capi-exec's engine). A global
 * symbol, since the loader and the bundle each hold a copy of this module.
 */
const ANSWERED = Symbol.for('capi.code-cache.answered');

/** The run judged an answer: it compiled the path every run takes, and is worth a cache. */
export function noteAnswerJudged(): void {
  (globalThis as Record<symbol, unknown>)[ANSWERED] = true;
}

/**
 * A run worth leaving a cache: one that ended 0 or 1 having judged at least one answer (a
 * test passed or failed), not one the tool answered itself (--help, --version…) nor one with
 * nothing to run or no answer (an empty `--in`, an API that cut every request), which
 * compiled little of the tool: a poorer cache costs every later start some 10 ms, and a
 * cache V8 takes is kept as it is, so the first one written is the one every start reads.
 */
export const worthKeepingCodeCache = (
  exitCode: number,
  argv = process.argv.slice(2),
  answered = (globalThis as Record<symbol, unknown>)[ANSWERED] === true,
) => (exitCode === 0 || exitCode === 1) && answered && builtinAction(beforeDashes(argv)) === null;

/** FNV-1a, 32 bits: a short tag, not a guard against anyone (the trust rules above are). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The cache file of this bundle, V8 and platform in `dir`. `key`: the bundle's content hash
 * from the build. `tag`: the bundle file's size and mtime as read (a bundle edited by hand to
 * the same length is another file) and the Node options of this process (V8 flags there make
 * V8 refuse a cache made without them: two such callers sharing one file would each replace
 * the other's at every run).
 */
export function codeCacheFile(
  dir: string,
  o: Pick<CodeCached, 'name' | 'key'>,
  source: { size: number; mtimeMs: number } = { size: 0, mtimeMs: 0 },
  nodeOptions = `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`,
): string {
  const tag = fnv1a(`${source.size}:${Math.trunc(source.mtimeMs)}:${nodeOptions}`);
  return join(dir, `${o.name}-${o.key}-${tag}-${process.version}-${process.arch}.v8cache`);
}

/**
 * Release builds of V8 check a code cache's header only (magic, version, flags, source
 * length), not its body: a damaged body is run, or crashes V8 at every start until the file
 * goes. With this flag V8 checksums the body too and refuses a damaged one, which is then
 * replaced.
 */
export const VERIFY_CACHE_FLAG = '--verify-snapshot-checksum';

/**
 * Runs the bundle as CommonJS (its `require` gives node built-ins only: everything else is
 * inside it) from the cache when V8 takes it; when there was none, or V8 refused it, a run
 * worth keeping leaves a new one at its exit, with every function the run compiled. The
 * folder is made and checked only then: a run that writes nothing makes nothing.
 */
export function runCodeCached(o: CodeCached): void {
  for (const id of o.startBuiltins ?? []) process.getBuiltinModule(id);
  setFlagsFromString(VERIFY_CACHE_FLAG);
  for (const flag of o.v8Flags) setFlagsFromString(flag);
  const fd = openSync(o.code, 'r');
  let source: string;
  let file: string | null;
  try {
    const st = fstatSync(fd);
    source = readFileSync(fd, 'utf8');
    const dir = codeCacheDir(o.env);
    file = dir === null ? null : codeCacheFile(dir, o, st);
  } finally {
    closeSync(fd);
  }
  const cachedData = file === null ? undefined : readCodeCache(file);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: o.code,
    cachedData,
  });
  if (file !== null && (cachedData === undefined || script.cachedDataRejected === true)) {
    const to = file;
    process.once('exit', (code) => {
      if (o.worthKeeping(code) && cacheFolderReady(dirname(to))) writeCodeCache(to, script.createCachedData(), o.name);
    });
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, builtinRequire, module, o.code, dirname(o.code));
}

function builtinRequire(id: string): unknown {
  const m = process.getBuiltinModule(id);
  if (m) return m;
  throw new Error(`cannot require ${id}: not a node built-in (the bundle holds everything else)`);
}
