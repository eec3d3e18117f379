import { type AnyCommand, runTool, UsageError } from '@capi/core';
import { info } from './info.js';

const argv = process.argv.slice(2);
// The command (and undici with it) is imported only when it runs: --version loads nothing.
await runTool(
  async () => {
    const [{ command }, { misplacedInput }] = await Promise.all([import('./command.js'), import('./options.js')]);
    const hint = misplacedInput(argv, command.args as Parameters<typeof misplacedInput>[1]);
    if (hint) throw new UsageError(hint);
    // citty's CommandDef is invariant in its args type; runTool takes any command.
    return command as unknown as AnyCommand;
  },
  info,
  argv,
);
