import { sketchQueryOf, sketchSimilarity } from '../domain/vector-sketch.js';
import type { VectorMatch } from '../ports/vector-store.js';

/**
 * Ranks sketched memories by their cosine similarity to the query, best first (ties by id), and
 * keeps the first `limit`: the vector store's query, done exactly over a scope small enough to be
 * read whole. A zero query, which has no direction, ranks nothing.
 */
export function rankBySketches(query: Float32Array, sketches: ReadonlyMap<string, Uint8Array>, limit: number): VectorMatch[] {
  const prepared = sketchQueryOf(query);
  if (prepared === null) return [];
  const matches: VectorMatch[] = [];
  for (const [id, sketch] of sketches) matches.push({ id, score: sketchSimilarity(prepared, sketch) });
  matches.sort((left, right) => right.score - left.score || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
  return matches.slice(0, Math.max(0, limit));
}
