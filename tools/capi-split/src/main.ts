import { readFileSync } from 'node:fs';
import { runTool } from '@capi/core';
import { splitCommand } from './command.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

await runTool(splitCommand(version), { name: 'capi-split', version });
