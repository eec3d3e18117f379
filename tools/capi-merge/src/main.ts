import { type AnyCommand, runTool } from '@capi/core';
import { info } from './info.js';

// The command is imported only when it runs: --version loads nothing.
// citty's CommandDef is invariant in its args type; runTool takes any command.
await runTool(async () => (await import('./command.js')).command as unknown as AnyCommand, info);
