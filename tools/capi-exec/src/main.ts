import { runTool } from '@capi/core';
import { command, info } from './command.js';

// citty's CommandDef is invariant in its args type; runTool takes any command.
await runTool(command as unknown as Parameters<typeof runTool>[0], info);
