import { ExitCode, runTool } from '@capi/core';
import { command, info } from './command.js';
import { misplacedInput } from './options.js';

const argv = process.argv.slice(2);
const hint = misplacedInput(argv, command.args as Parameters<typeof misplacedInput>[1]);
if (hint) {
  process.stderr.write(`${info.name}: ${hint}\nTry '${info.name} --help' for more information.\n`);
  process.exitCode = ExitCode.badInput;
}
// citty's CommandDef is invariant in its args type; runTool takes any command.
else await runTool(command as unknown as Parameters<typeof runTool>[0], info, argv);
