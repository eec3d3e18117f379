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

/** Whether `path` is a folder (following links); any error reads as "no". */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
