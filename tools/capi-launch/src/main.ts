import { runTool } from '@capi/core';

// The command is imported only when it runs: --version loads nothing.
await runTool(async () => (await import('./command.js')).default, { name: 'capi-launch', version: '0.1.0' });
