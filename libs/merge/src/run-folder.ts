import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InputError,
  pathExists,
  REPORT_NAMES,
  type RunManifest,
  readRunManifest,
  runPaths,
  setAsideNote,
} from '@capi/core';

/** What merge reads from a run folder (docs/run-folder.md). */
export interface RunFolderFiles {
  dir: string;
  manifest: RunManifest | null;
  /** Result journals, sorted by name; after `--clean`, the merged `report/results.ndjson`. */
  resultFiles: string[];
  /** Test records per batch: the ids that must have a result. */
  batchFiles: Array<{ batch: string; path: string }>;
}

async function ndjsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.ndjson'))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

export async function readRunFolder(dir: string, label = dir): Promise<RunFolderFiles> {
  const p = runPaths(dir);
  const [hasManifest, hasResults, hasBatches] = await Promise.all([
    pathExists(p.manifest),
    pathExists(p.results),
    pathExists(p.batches),
  ]);
  if (!hasManifest && !hasResults && !hasBatches)
    throw new InputError(label, undefined, 'not a run folder (no run.json, results/ or batches/)');
  // batches/ set aside by a capi-split --force killed half-way: no expected ids, so refused, not merged without them
  const aside = hasBatches ? null : await setAsideNote(p.batches);
  if (aside !== null) throw new InputError(label, undefined, aside);
  let resultFiles = (await ndjsonFiles(p.results)).map((f) => join(p.results, f));
  const merged = join(p.report, REPORT_NAMES.merged);
  if (resultFiles.length === 0 && (await pathExists(merged))) resultFiles = [merged];
  const batchFiles = (await ndjsonFiles(p.batches)).map((f) => ({
    batch: f.slice(0, -'.ndjson'.length),
    path: join(p.batches, f),
  }));
  // core's one reader: a damaged run.json is named with its field (exit 2), as every tool does
  const manifest = hasManifest ? await readRunManifest(p.manifest) : null;
  return { dir: p.dir, manifest, resultFiles, batchFiles };
}
