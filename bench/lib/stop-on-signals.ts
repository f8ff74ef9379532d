/**
 * Runs `stop` when the process gets SIGINT or SIGTERM, then exits as a shell expects of a process
 * ended by that signal (130, 143): a run stopped so still stops what it started (processes, a
 * test database, folders). `notice`, when given, is written to stderr first. Answers a function
 * that takes the handlers off again.
 */
export function stopOnSignals(stop: () => Promise<unknown>, notice?: string): () => void {
  const interrupted = (signal: NodeJS.Signals): void => {
    if (notice !== undefined) process.stderr.write(`\n${signal}: ${notice}\n`);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  return () => {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  };
}
