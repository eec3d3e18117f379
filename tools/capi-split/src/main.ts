import { readFileSync } from 'node:fs';
import { runTool } from '@capi/core';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// The command is imported only when it runs: --version loads nothing.
await runTool(async () => (await import('./command.js')).splitCommand(version), { name: 'capi-split', version });
