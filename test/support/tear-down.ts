/**
 * Runs every step of a teardown in order, each one even when an earlier one failed, then throws the
 * first failure: a node that fails to close still has its databases dropped, its servers stopped
 * and its data folder removed.
 */
export async function tearDown(steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
