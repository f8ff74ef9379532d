/**
 * Background runs, one at a time per key, that nobody waits on: a run started while its key's is
 * under way is not started. A key whose last run failed is remembered until its next start, so
 * that the caller can start it again early.
 */
export class KeyedRuns {
  readonly #running = new Map<string, Promise<void>>();
  readonly #failed = new Set<string>();

  /** Starts `run` unless the key's is under way; `failed` hears of its failure. */
  start(key: string, run: () => Promise<void>, failed: (error: unknown) => void): void {
    if (this.#running.has(key)) return;
    this.#failed.delete(key);
    const running = run()
      .catch((error: unknown) => {
        this.#failed.add(key);
        failed(error);
      })
      .finally(() => this.#running.delete(key));
    this.#running.set(key, running);
  }

  /** Whether the key's last run failed, and none started since. */
  failed(key: string): boolean {
    return this.#failed.has(key);
  }

  /** Forgets the key's failure. */
  forget(key: string): void {
    this.#failed.delete(key);
  }

  /** The runs under way; each settles without failing. */
  running(): Promise<void>[] {
    return [...this.#running.values()];
  }
}
