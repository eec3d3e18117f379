import { stat } from 'node:fs/promises';

/** Whether anything is at `path` (following links); any error reads as "no". */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
