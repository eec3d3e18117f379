import { type AnyCommand, CapiError, ExitCode, expandOptionsFile, runTool, UsageError } from '@capi/core';
import { info } from './info.js';

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
// Built as one CommonJS file run from a V8 code cache (core code-cache.ts): no top-level
// await, which CommonJS lacks; runTool settles the exit code itself. The command's modules
// (and undici with them) are evaluated only when it runs.
if (argv !== null)
  void runTool(
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
