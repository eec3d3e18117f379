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
if (argv !== null) {
  let settled = false;
  // An ES module whose top-level await never settles ends with Node's exit 13; a CommonJS
  // program whose loop empties first ends 0, "every test passed". A run that ends without
  // its end known is capi-exec's failure, exit 3, said. (process.exit, as on EPIPE, skips it.)
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write(`${info.name}: internal error: the run ended before its outcome was known\n`);
    process.exitCode = ExitCode.cannotRun;
  });
  runTool(
    async () => {
      const [{ command }, { misplacedInput }] = await Promise.all([import('./command.js'), import('./options.js')]);
      const hint = misplacedInput(argv, command.args as Parameters<typeof misplacedInput>[1]);
      if (hint) throw new UsageError(hint);
      // citty's CommandDef is invariant in its args type; runTool takes any command.
      return command as unknown as AnyCommand;
    },
    info,
    argv,
  ).finally(() => {
    settled = true;
  });
}
