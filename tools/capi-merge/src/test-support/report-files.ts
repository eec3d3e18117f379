import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '@capi/testkit';

/** Shared by the contract tests: where the fixtures are, and reading the default reports. */
export const fixtures = join(repoRoot, 'tools', 'capi-merge', 'fixtures');

export async function copyFixture(name: string, to: string): Promise<string> {
  const dest = join(to, name);
  await cp(join(fixtures, name), dest, { recursive: true });
  return dest;
}

export interface DefaultReports {
  // biome-ignore lint/suspicious/noExplicitAny: the tests read many fields of the parsed report
  json: any;
  csv: string;
  txt: string;
  names: string[];
}

/** The three reports with the guide's names in `dir`; fails when any is absent or doubled. */
export async function readDefaultReports(dir: string): Promise<DefaultReports> {
  const names = (await readdir(dir)).sort();
  const pick = (re: RegExp) => {
    const found = names.filter((n) => re.test(n));
    if (found.length !== 1)
      throw new Error(`expected one file matching ${re} in ${dir}, found ${found.join(', ') || 'none'}`);
    return join(dir, found[0] as string);
  };
  const json = JSON.parse(await readFile(pick(/^aggregated_results_\d{8}_\d{6}\.json$/), 'utf8'));
  const csv = await readFile(pick(/^aggregated_results_\d{8}_\d{6}\.csv$/), 'utf8');
  const txt = await readFile(pick(/^test_summary_report_\d{8}_\d{6}\.txt$/), 'utf8');
  return { json, csv, txt, names };
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
