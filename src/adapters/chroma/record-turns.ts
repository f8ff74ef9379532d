/**
 * Lets the writes of one process that share records of a collection take turns: a write waits
 * while another holds any of its records, then holds all of them until it ends, however it ends.
 * Writes of other records, or of other collections, run side by side. A write takes its records
 * all at once, never some and then more, so two writes cannot wait for each other.
 *
 * A write's add, its read of the digests and its replacements (addThenReplace) thus see no other
 * write of this process change one of those records in between.
 */
export class RecordTurns {
  /** What a record's current holder resolves when it ends, by collection and record id. */
  readonly #held = new Map<string, Promise<void>>();

  async run<T>(collection: string, ids: readonly string[], work: () => Promise<T>): Promise<T> {
    const keys = [...new Set(ids.map((id) => `${collection}\n${id}`))];
    for (let holder = this.#holderOf(keys); holder !== undefined; holder = this.#holderOf(keys)) await holder;
    let release = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const key of keys) this.#held.set(key, ended);
    try {
      return await work();
    } finally {
      for (const key of keys) this.#held.delete(key);
      release();
    }
  }

  #holderOf(keys: readonly string[]): Promise<void> | undefined {
    for (const key of keys) {
      const holder = this.#held.get(key);
      if (holder !== undefined) return holder;
    }
    return undefined;
  }
}
