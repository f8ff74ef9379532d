import { createHash } from 'node:crypto';
import { ValidationError } from '../../domain/errors.js';
import type { Embedder } from '../../ports/embedder.js';
import { EmbedderBadResponseError } from './errors.js';
import { LruMap } from '../lru-map.js';

export interface QueryCacheOptions {
  /**
   * Most vectors kept; the least recently used goes first. An entry of 512 dimensions takes
   * about 2.2 KB, so the default of 10,000 holds about 22 MB.
   */
  readonly maxEntries?: number;
}

/**
 * Remembers the vectors of recent texts, for the search path where the same queries come back.
 * Entries are keyed by a SHA-256 of the text, so the cache holds no user text and its memory is
 * bounded by the entry count alone. Not for the write path: stored texts rarely repeat.
 */
export function withQueryCache(inner: Embedder, options: QueryCacheOptions = {}): Embedder {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new ValidationError('maxEntries must be a positive integer');
  }
  const entries = new LruMap<string, Float32Array>(maxEntries);

  return {
    model: inner.model,
    async embed(texts) {
      const keys = texts.map(keyOf);
      // Reading a hit makes it the most recently used entry.
      const found = keys.map((key) => entries.get(key));
      const missing = new Map<string, string>();
      keys.forEach((key, i) => {
        if (found[i] === undefined) missing.set(key, texts[i] ?? '');
      });
      const fresh = new Map<string, Float32Array>();
      if (missing.size > 0) {
        const vectors = await inner.embed([...missing.values()]);
        if (vectors.length !== missing.size) {
          throw new EmbedderBadResponseError(`${vectors.length} vectors for ${missing.size} texts`);
        }
        [...missing.keys()].forEach((key, i) => fresh.set(key, vectors[i] as Float32Array));
        for (const [key, vector] of fresh) entries.set(key, vector);
      }
      // copies, so that a caller that changes its vector cannot change the cache
      return keys.map((key, i) => (found[i] ?? (fresh.get(key) as Float32Array)).slice());
    },
    async close() {
      entries.clear();
      await inner.close();
    },
  };
}

function keyOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
