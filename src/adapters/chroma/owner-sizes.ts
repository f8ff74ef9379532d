import { LruMap } from '../lru-map.js';

interface KnownSize {
  readonly vectors: number;
  readonly learnedAt: number;
}

/**
 * How many vectors the small owners of this process hold. Chroma's filtered HNSW walk stops once it
 * holds as many of the allowed vectors as it was asked for; asked for more than the owner has, it
 * walks the whole collection. A query that finds fewer matches than it asked for has seen all of
 * the owner's vectors, so later queries ask for no more than that, until the figure is `ttlMs` old
 * (another process may have written since: then the owner's lowest matches are left out meanwhile,
 * never the best ones). Writes and removals through this process keep the figure in step.
 */
export class OwnerSizes {
  readonly #known: LruMap<string, KnownSize>;
  readonly #ttlMs: number;

  constructor(capacity: number, ttlMs: number) {
    this.#known = new LruMap(capacity);
    this.#ttlMs = ttlMs;
  }

  /** How many matches to ask Chroma for when `wanted` are wanted. */
  limit(owner: string, wanted: number): number {
    const known = this.#fresh(owner);
    return known === undefined ? wanted : Math.min(wanted, Math.max(1, known.vectors));
  }

  /** Learns from a query filtered on nothing but the owner. */
  observe(owner: string, asked: number, found: number, wanted: number): void {
    if (found < asked) this.#known.set(owner, { vectors: found, learnedAt: Date.now() });
    else if (asked >= wanted) this.#known.delete(owner);
  }

  /** The owner got up to `added` more vectors through this process. */
  grew(owner: string, added: number): void {
    const known = this.#fresh(owner);
    if (known !== undefined) this.#known.set(owner, { ...known, vectors: known.vectors + added });
  }

  forget(owner: string): void {
    this.#known.delete(owner);
  }

  #fresh(owner: string): KnownSize | undefined {
    const known = this.#known.get(owner);
    if (known === undefined) return undefined;
    if (Date.now() - known.learnedAt <= this.#ttlMs) return known;
    this.#known.delete(owner);
    return undefined;
  }
}
