import { LruMap } from '../lru-map.js';

interface KnownSize {
  readonly vectors: number;
  readonly learnedAt: number;
}

/** Filters an owner's queries use most: a session or two, and the owner's vectors as a whole. */
const FILTERS_PER_OWNER = 8;

/**
 * How many vectors an owner holds, as a whole (filter `''`) or under a filter such as a session.
 * Chroma's filtered HNSW walk stops once it holds as many allowed vectors as it was asked for;
 * asked for more than there are, it walks the whole collection. A query that finds fewer matches
 * than it asked for has seen all of them, so later queries with the same filter ask for no more
 * than that, until the figure is `ttlMs` old (another process may have written since: then the
 * lowest matches are left out meanwhile, never the best ones). Writes and removals through this
 * process keep the figures in step.
 */
export class OwnerSizes {
  readonly #known: LruMap<string, Map<string, KnownSize>>;
  readonly #ttlMs: number;

  constructor(capacity: number, ttlMs: number) {
    this.#known = new LruMap(capacity);
    this.#ttlMs = ttlMs;
  }

  /** How many matches to ask Chroma for when `wanted` are wanted. */
  limit(owner: string, filter: string, wanted: number): number {
    const known = this.#fresh(owner, filter);
    return known === undefined ? wanted : Math.min(wanted, Math.max(1, known.vectors));
  }

  /** Learns from a query that asked for `asked` of `wanted` and found `found`. */
  observe(owner: string, filter: string, asked: number, found: number, wanted: number): void {
    if (found < asked) {
      let filters = this.#known.get(owner);
      if (filters === undefined) this.#known.set(owner, (filters = new Map()));
      filters.delete(filter);
      filters.set(filter, { vectors: found, learnedAt: Date.now() });
      if (filters.size > FILTERS_PER_OWNER) filters.delete(filters.keys().next().value as string);
    } else if (asked >= wanted) {
      this.#known.get(owner)?.delete(filter);
    }
  }

  /** The owner got up to `added` more vectors through this process, under any filter. */
  grew(owner: string, added: number): void {
    const filters = this.#known.get(owner);
    if (filters === undefined) return;
    for (const [filter, known] of filters) filters.set(filter, { ...known, vectors: known.vectors + added });
  }

  forget(owner: string): void {
    this.#known.delete(owner);
  }

  #fresh(owner: string, filter: string): KnownSize | undefined {
    const filters = this.#known.get(owner);
    const known = filters?.get(filter);
    if (filters === undefined || known === undefined) return undefined;
    if (Date.now() - known.learnedAt <= this.#ttlMs) return known;
    filters.delete(filter);
    return undefined;
  }
}
