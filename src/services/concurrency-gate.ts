/**
 * Lets at most `limit` pieces of work run at once; the others wait at the door, first come first
 * served, and each starts as soon as one before it has ended, however it ended.
 */
export class ConcurrencyGate {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  /** `limit` is rounded down, and taken as 1 below that. */
  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /** Work waiting for its turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limit) this.#running += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line, so nobody arriving meanwhile jumps the queue.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
