/**
 * What every tool answers itself, before its command runs (core cli.ts `runTool`): help,
 * version, completion script or man page. Its own module, with no imports, because capi-exec's
 * code-cache loader asks it too (code-cache.ts: such a run compiles too little of the tool to
 * leave a cache worth keeping) and must load nothing else.
 */
export type BuiltinAction = 'help' | 'version' | 'completion' | 'man';

/** The arguments before `--` (after it, a flag-like word is an operand). */
export function beforeDashes(argv: string[]): string[] {
  const i = argv.indexOf('--');
  return i === -1 ? argv : argv.slice(0, i);
}

/** The action a tool answers itself for these arguments (`head`: those before `--`), else null. */
export function builtinAction(head: string[]): BuiltinAction | null {
  if (head.includes('--help') || head.includes('-h')) return 'help';
  if (head.includes('--version')) return 'version';
  if (head.some((a) => a === '--completion' || a.startsWith('--completion='))) return 'completion';
  if (head.includes('--man')) return 'man';
  return null;
}
