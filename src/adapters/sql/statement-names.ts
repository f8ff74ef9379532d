/** Most statement texts a process keeps prepared; callers prepare only a bounded set of shapes. */
export const MAX_PREPARED_TEXTS = 256;

/**
 * Names of prepared statements: one per statement text, the same on every connection of a process,
 * so a connection that has prepared a name holds exactly that text.
 */
export class StatementNames {
  readonly #names = new Map<string, string>();

  constructor(private readonly limit = MAX_PREPARED_TEXTS) {}

  /** The name of `text`, or null once `limit` texts have names: then run it unprepared. */
  nameOf(text: string): string | null {
    const known = this.#names.get(text);
    if (known !== undefined) return known;
    if (this.#names.size >= this.limit) return null;
    const name = `engram_${this.#names.size + 1}`;
    this.#names.set(text, name);
    return name;
  }
}
