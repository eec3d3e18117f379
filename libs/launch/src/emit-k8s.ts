import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import {
  CapiError,
  ExitCode,
  type ExitCodeValue,
  isCredentialName,
  makeDir,
  UsageError,
  writeFileAtomic,
} from '@capi/core';
import { effectiveBaseUrl, refuseRelativeUrlsIn } from './base-url.js';
import { splitError, splitWarnings } from './create-run.js';
import { execArg } from './exec-flag-list.js';
import { envNames, howTo } from './k8s-howto.js';
import { collectorManifest, configMapManifest, jobManifest, type K8sPlan } from './k8s-manifests.js';
import { splitFlags } from './split-flags.js';
import { toolBin } from './tools.js';

/** What the API server accepts in one ConfigMap: keys and values together. */
const CONFIGMAP_LIMIT = 1024 * 1024;
const SUITE_KEY = 'tests.ndjson';

export interface EmitK8sOptions extends Omit<K8sPlan, 'tests'> {
  suite: string;
  outDir: string;
  /** Put the test records on the volume (DIR/collect/tests.ndjson, copied there by the user) instead of a ConfigMap. */
  suiteOnPvc: boolean;
  lenient: boolean;
  /** capi-split --vars-columns, as a launch passes it. */
  varsColumns?: string[];
  /** capi-split --auto-id, as a launch passes it. */
  autoId?: boolean;
  notes: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface EmittedK8s {
  /** The files written, as paths under outDir. */
  files: string[];
  tests: number;
  plan: K8sPlan;
}

/** Our own files: a second emit into the same folder replaces them. */
const OURS = new Set(['configmap.json', 'job.json', 'HOWTO.txt', 'collect']);

/** `kubectl apply -f DIR` applies every manifest in DIR: one that is not ours would go with the Job. */
async function checkOutDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory()) throw new UsageError(`--emit k8s: ${dir} is not a folder`);
  const strangers = (info ? await readdir(dir) : []).filter(
    (f) => !OURS.has(f) && ['.json', '.yaml', '.yml'].includes(extname(f).toLowerCase()),
  );
  if (strangers.length)
    throw new UsageError(
      `--emit k8s: ${dir} holds other manifests (${strangers.slice(0, 3).join(', ')}) that kubectl apply -f ${dir} would apply too: choose an empty folder`,
    );
}

/** A credential header must come from the Secret: the manifest is readable by whoever may read Jobs. */
function refuseClearCredentials(execArgs: string[]): void {
  for (let i = 0; i < execArgs.length; i++) {
    if (execArgs[i] !== '--header') continue;
    const h = execArgs[i + 1] ?? '';
    const name = h.slice(0, h.indexOf(':')).trim();
    const rest = h.slice(h.indexOf(':') + 1).replace(/\{\{\s*env\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}/g, '');
    if (isCredentialName(name) && !/^\s*([A-Za-z][\w-]*\s+)?$/.test(rest))
      throw new UsageError(
        `--emit k8s: --header ${name} would be written in clear into the manifest: put the value in a Secret (--secret NAME) and write it as {{env.KEY}}`,
      );
  }
}

/** capi-split of the suite into `file`; its error passed on in one line, as a launch does. */
function splitTo(suite: string, file: string, o: EmitK8sOptions): Promise<void> {
  const args = [toolBin('split', o.env), suite, ...splitFlags(o)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env });
  const out = createWriteStream(file, { mode: 0o600 });
  child.stdout.pipe(out);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  const written = new Promise<void>((done, fail) => out.on('close', () => done()).on('error', fail));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', async (code) => {
      await written.catch(fail);
      for (const w of splitWarnings(stderr)) o.notes(w);
      if (code === 0) return done();
      const text = splitError(stderr) || `capi-split exited with ${code}`;
      fail(new CapiError(`splitting ${basename(suite)}: ${text}`, (code === 2 ? 2 : 3) as ExitCodeValue));
    });
  });
}

const lineCount = (text: string) => text.split('\n').filter((l) => l.trim() !== '').length;

/**
 * Writes the manifests of a Kubernetes Indexed Job that runs the suite in `shards` pods
 * (docs/capi-launch.md "Kubernetes"). Creates no run and starts nothing.
 */
export async function emitK8s(o: EmitK8sOptions): Promise<EmittedK8s> {
  const suite = resolve(o.suite);
  if (!(await stat(suite).catch(() => null))?.isFile())
    throw new CapiError(`${o.suite}: no such file`, ExitCode.badInput);
  await checkOutDir(o.outDir);
  refuseClearCredentials(o.execArgs);
  const wanted = envNames(o.execArgs);
  if (wanted.length && !o.secrets.length)
    o.notes(
      `warning: the pods' flags use {{env.${wanted[0]}}} but no --secret gives them an environment: every test would end as a TEMPLATE error`,
    );
  const execArgs = [...o.execArgs];
  // the pods do not have this shell's CAPI_BASE_URL
  const base = effectiveBaseUrl(execArgs, o.env);
  if (base && execArg(execArgs, '--base-url') === undefined) execArgs.unshift('--base-url', o.env.CAPI_BASE_URL ?? '');
  await makeDir(join(o.outDir, 'collect'));
  const tmp = join(o.outDir, 'collect', `.tests-${process.pid}.ndjson`);
  try {
    await splitTo(suite, tmp, o);
    if (!base) await refuseRelativeUrlsIn([tmp], o.suite);
    const size = (await stat(tmp)).size;
    const plan: K8sPlan = { ...o, execArgs, tests: null };
    if (size === 0) throw new CapiError(`${o.suite}: no tests to run`, ExitCode.badInput);
    if (!o.suiteOnPvc && size + SUITE_KEY.length > CONFIGMAP_LIMIT)
      throw new CapiError(
        `${o.suite}: its ${size} bytes of test records are over a ConfigMap's limit of 1 MiB: pass --suite-on-pvc and copy ${join(o.outDir, 'collect', SUITE_KEY)} onto the volume (docs/capi-launch.md, Kubernetes)`,
        ExitCode.badInput,
      );
    const text = await readFile(tmp, 'utf8');
    return await writeAll(o, o.suiteOnPvc ? plan : { ...plan, tests: text }, tmp, lineCount(text));
  } finally {
    await rm(tmp, { force: true });
  }
}

async function writeAll(o: EmitK8sOptions, plan: K8sPlan, tmp: string, tests: number): Promise<EmittedK8s> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const out = (f: string) => join(o.outDir, f);
  const files: string[] = [];
  const put = async (f: string, text: string) => {
    await writeFileAtomic(out(f), text);
    files.push(out(f));
  };
  if (plan.tests !== null) await put('configmap.json', json(configMapManifest({ ...plan, tests: plan.tests })));
  else {
    await rm(out('configmap.json'), { force: true });
    await rename(tmp, out(`collect/${SUITE_KEY}`));
    files.push(out(`collect/${SUITE_KEY}`));
  }
  if (plan.tests !== null) await rm(out(`collect/${SUITE_KEY}`), { force: true });
  await put('job.json', json(jobManifest(plan)));
  await put('collect/pod.json', json(collectorManifest(plan)));
  await put('HOWTO.txt', howTo(plan, o.outDir, o.suite, o.autoId === true));
  return { files, tests, plan };
}
