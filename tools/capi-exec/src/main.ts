import { CapiError, ExitCode, expandOptionsFile, runTool } from '@capi/core';
import { command, info } from './command.js';
import { misplacedInput } from './options.js';

/** `--options-file FILE` is expanded first: its words count as given here (docs/capi-exec.md). */
function argvOf(raw: string[]): string[] | null {
  try {
    return expandOptionsFile(raw);
  } catch (err) {
    process.stderr.write(`${info.name}: ${(err as Error).message}\nTry '${info.name} --help' for more information.\n`);
    process.exitCode = err instanceof CapiError ? err.exitCode : ExitCode.badInput;
    return null;
  }
}

const argv = argvOf(process.argv.slice(2));
const hint = argv && misplacedInput(argv, command.args as Parameters<typeof misplacedInput>[1]);
if (argv === null) {
  // said above
} else if (hint) {
  process.stderr.write(`${info.name}: ${hint}\nTry '${info.name} --help' for more information.\n`);
  process.exitCode = ExitCode.badInput;
}
// citty's CommandDef is invariant in its args type; runTool takes any command.
else await runTool(command as unknown as Parameters<typeof runTool>[0], info, argv);
