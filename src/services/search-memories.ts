import type { Principal } from '../domain/api-key.js';
import { DependencyUnavailableError } from '../domain/errors.js';
import { isWholeUser, isWithinScope, type MetadataCondition, type SearchScope } from '../domain/filters.js';
import type { CandidateMemory, Memory } from '../domain/memory.js';
import { sketchQueryOf, sketchSimilarity, type SketchQuery } from '../domain/vector-sketch.js';
import type { Embedder } from '../ports/embedder.js';
import type { SearchLists, WordMatch } from '../ports/memory-retrieval.js';
import type { MemoryRepository } from '../ports/metadata-store.js';
import type { VectorMatch, VectorStore } from '../ports/vector-store.js';
import type { ConcurrencyGate } from './concurrency-gate.js';
import { cosineSimilarity } from './cosine.js';
import { queryWords } from './query-words.js';
import { fuseRankings, type FusedRank } from './rank-fusion.js';
import { rankBySketches } from './sketch-ranking.js';

/** Candidates read beyond the gaps left by deleted memories, when the first page comes up short. */
const SPARE_CANDIDATES = 10;

export interface SearchRequest {
  readonly query: string;
  readonly userId: string;
  readonly sessionId?: string;
  /** How many results at most. */
  readonly topK: number;
  readonly filters?: readonly MetadataCondition[];
  /** Leaves out memories whose cosine similarity to the query is below this. */
  readonly minScore?: number;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
  /** Turns of the same session to return before and after each result. Default 0. */
  readonly context?: number;
}

/** A turn next to a result: `offset` -1 is the one right before it, 1 the one right after. */
export interface ContextTurn {
  readonly memory: Memory;
  readonly offset: number;
}

export interface SearchHit {
  readonly memory: Memory;
  /** Fused relevance in [0, 1], what results are ordered by: 1 is first in both rankings. */
  readonly score: number;
  /** Cosine similarity of the memory's vector to the query's, in [-1, 1]. */
  readonly similarity: number;
  /** The neighbouring turns, oldest first; empty unless asked for. */
  readonly context: readonly ContextTurn[];
}

/** What a search knows of its candidates before it reads rows. */
interface CandidateKnowledge {
  /** Cosine similarity of each candidate the vector search found, and of word matches that came with sketches. */
  readonly similarities: ReadonlyMap<string, number>;
  /** Memories the word search or the scope's listing brought along. */
  readonly known: ReadonlyMap<string, Memory>;
}

export interface MemorySearchOptions {
  /** Weight of the vector (meaning) ranking in the fusion. Default 0.5: the bundled encoder is weaker than BM25 on chat history. */
  readonly vectorWeight?: number;
  /** Weight of the lexical (BM25) ranking in the fusion. Default 1. */
  readonly lexicalWeight?: number;
  /** Reciprocal-rank constant: larger flattens the edge of the first places. Default 10. */
  readonly rankConstant?: number;
  /** How deep each ranking is read before fusing, at least top_k. Default 50. */
  readonly depth?: number;
  /**
   * A scope of at most this many memories is ranked by meaning here, from their vector sketches
   * read with its ids, rather than by the vector store (see rankBySketches); 0 for never. Default
   * 250.
   */
  readonly sketchedUpTo?: number;
}

export interface MemorySearchDeps {
  readonly memories: MemoryRepository;
  readonly vectorStore: VectorStore;
  /** The query-side embedder (usually with a cache in front). */
  readonly embedder: Embedder;
  readonly options?: MemorySearchOptions;
  /** Searches in progress at once; the others wait at the door. Default: no limit. */
  readonly admission?: ConcurrencyGate;
}

/**
 * Finds a user's memories that answer a query with two rankings fused: by meaning (the vector
 * store) and by words (BM25 in the metadata store), which catches the names, numbers and rare
 * words that an embedding blurs. Both run at once. Postgres is the truth for what exists, so a
 * vector whose memory was deleted meanwhile is never returned.
 */
export class MemorySearch {
  private readonly vectorWeight: number;
  private readonly lexicalWeight: number;
  private readonly rankConstant: number;
  private readonly depth: number;
  private readonly sketchedUpTo: number;

  constructor(private readonly deps: MemorySearchDeps) {
    this.vectorWeight = deps.options?.vectorWeight ?? 0.5;
    this.lexicalWeight = deps.options?.lexicalWeight ?? 1;
    this.rankConstant = deps.options?.rankConstant ?? 10;
    this.depth = deps.options?.depth ?? 50;
    this.sketchedUpTo = deps.options?.sketchedUpTo ?? 250;
  }

  search(principal: Principal, request: SearchRequest): Promise<SearchHit[]> {
    const admission = this.deps.admission;
    return admission === undefined ? this.searchNow(principal, request) : admission.run(() => this.searchNow(principal, request));
  }

  private async searchNow(principal: Principal, request: SearchRequest): Promise<SearchHit[]> {
    const scope: SearchScope = {
      tenantId: principal.tenantId,
      userId: request.userId,
      ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
      ...(request.filters === undefined ? {} : { metadata: request.filters }),
      ...(request.createdAfter === undefined ? {} : { createdAfter: request.createdAfter }),
      ...(request.createdBefore === undefined ? {} : { createdBefore: request.createdBefore }),
    };
    const depth = Math.max(this.depth, request.topK);
    // The query's embedding is the longest step before the vector search: it starts first.
    const embedded = this.deps.embedder.embed([request.query]);
    void embedded.catch(() => undefined);
    // Unknown (null) while the vector store is out of reach: a scope small enough for its sketches
    // is still ranked, and a larger one fails with the vector store's query.
    const idsWanted = await this.deps.vectorStore.idsWanted(scope.tenantId, scope.userId).catch((error: unknown) => {
      if (error instanceof DependencyUnavailableError) return null;
      throw error;
    });
    // Asked together: the metadata store answers the ids, which the vector search waits for,
    // before the word search is done.
    const {
      ids,
      memories: listed,
      sketches,
      matches: lexical,
    } = this.deps.memories.searchLists({
      scope,
      idsLimit: this.idsLimit(scope, idsWanted),
      // A scope that the vector search returns whole comes with its memories, and so do the best
      // word matches: when they fill the page, no row is read after the vector search.
      memoriesUpTo: depth,
      // A small scope comes with its sketches: its vector search is then done here.
      ...(this.sketchedUpTo > 0 ? { sketchesUpTo: this.sketchedUpTo } : {}),
      words:
        this.lexicalWeight > 0
          ? { words: queryWords(request.query), limit: depth, withMemories: request.topK + SPARE_CANDIDATES, withSketches: request.topK }
          : null,
    });
    // Settled at once, as the embedding is: a failure surfaces when awaited below, never as an
    // unhandled rejection.
    void ids?.catch(() => undefined);
    void listed?.catch(() => undefined);
    void sketches?.catch(() => undefined);
    void lexical.catch(() => undefined);
    const [embedding] = await embedded;
    if (embedding === undefined) return [];
    const vector = this.vectorMatches(scope, embedding, depth, { ids, sketches, idsWanted: idsWanted ?? 0 });
    const [matches, words, scopeMemories] = await Promise.all([vector, lexical, listed]);

    // Ranked from sketches, every memory of the scope comes with its similarity: the ranking is
    // fused to the same depth as the vector store's.
    const fused = fuseRankings(
      [
        { ids: matches.slice(0, depth).map((match) => match.id), weight: this.vectorWeight },
        { ids: words.map((match) => match.id), weight: this.lexicalWeight },
      ],
      this.rankConstant,
    );
    const similarities = new Map(matches.map((match) => [match.id, match.score]));
    measureBroughtMatches(words, embedding, similarities);
    const known = new Map(words.flatMap((match) => (match.memory === undefined ? [] : [[match.id, match.memory] as const])));
    for (const memory of scopeMemories ?? []) known.set(memory.id, memory);
    const hits = await this.readHits(scope, request, fused, { similarities, known }, embedding);
    return this.withContext(principal.tenantId, hits, request.context ?? 0);
  }

  /**
   * How many of the scope's ids to list: as many as the vector store wants; for a user it wants
   * none of (one of their own collection, thousands of memories), enough to tell whether a
   * narrowed scope (a session, say) is small enough for its sketches, and likewise when the vector
   * store is out of reach; none otherwise.
   */
  private idsLimit(scope: SearchScope, idsWanted: number | null): number | null {
    if (idsWanted !== null && idsWanted > 0) return idsWanted + 1;
    if (this.sketchedUpTo === 0) return null;
    return idsWanted === null || !isWholeUser(scope) ? this.sketchedUpTo + 1 : null;
  }

  /**
   * The scope's memories nearest the query: ranked here from their sketches when the scope is
   * small and all of them are sketched (all of them then, not only the first `depth`), by the
   * vector store otherwise (among the scope's ids when it wants them).
   */
  private async vectorMatches(
    scope: SearchScope,
    embedding: Float32Array,
    depth: number,
    listed: Pick<SearchLists, 'ids' | 'sketches'> & { readonly idsWanted: number },
  ): Promise<VectorMatch[]> {
    const sketched = listed.sketches === null ? null : await listed.sketches;
    if (sketched !== null) return rankBySketches(embedding, sketched, sketched.size);
    const scopeIds = listed.ids === null ? undefined : await listed.ids;
    return this.deps.vectorStore.query({
      scope,
      embedding,
      topK: depth,
      ...(scopeIds === undefined || scopeIds.length > listed.idsWanted ? {} : { ids: scopeIds }),
    });
  }

  /**
   * Reads the rows of the best candidates first, but for those the word search brought along.
   * Without a similarity floor the first `topK` usually fill the page; a memory deleted since it
   * was indexed (or of another user) leaves a gap, which the next candidates fill, with a few
   * spares. With a floor any candidate may fall below it, so all of them are read at once.
   */
  private async readHits(
    scope: SearchScope,
    request: SearchRequest,
    fused: readonly FusedRank[],
    { similarities, known }: CandidateKnowledge,
    embedding: Float32Array,
  ): Promise<SearchHit[]> {
    const minScore = request.minScore ?? Number.NEGATIVE_INFINITY;
    const hits: SearchHit[] = [];
    let window = request.minScore === undefined ? request.topK : fused.length;
    for (let next = 0; hits.length < request.topK && next < fused.length; ) {
      const candidates = fused.slice(next, next + window);
      next += candidates.length;
      // Only a memory found by words alone, without its sketch, needs its vector read for its similarity.
      const unmeasured = candidates.filter((candidate) => !similarities.has(candidate.id)).map((candidate) => candidate.id);
      const unread = new Set(candidates.filter((candidate) => !known.has(candidate.id) || !similarities.has(candidate.id)).map((candidate) => candidate.id));
      const found = unread.size === 0 ? [] : await this.deps.memories.getCandidates(scope.tenantId, [...unread], unmeasured);
      const rows = new Map<string, CandidateMemory>(found.map((memory) => [memory.id, memory]));
      for (const candidate of candidates) {
        const read = rows.get(candidate.id);
        // A memory read and not found is gone, whatever the word search saw before. The scope is
        // checked again: the vector store may have found it by its copy of an earlier version, of
        // another session, time or metadata, that a worker has not yet replaced.
        const memory = unread.has(candidate.id) ? read && withoutVector(read) : known.get(candidate.id);
        if (memory === undefined || memory.userId !== request.userId || !isWithinScope(memory, scope)) continue;
        const vector = read?.embedding ?? null;
        const similarity = similarities.get(memory.id) ?? (vector === null ? 0 : cosineSimilarity(embedding, vector));
        if (similarity < minScore) continue;
        hits.push({ memory, score: candidate.score, similarity, context: [] });
        if (hits.length === request.topK) break;
      }
      window = request.topK - hits.length + SPARE_CANDIDATES;
    }
    return hits;
  }

  private async withContext(tenantId: string, hits: SearchHit[], span: number): Promise<SearchHit[]> {
    if (span < 1 || hits.length === 0) return hits;
    const neighbourhoods = new Map(
      (await this.deps.memories.findNeighbours(tenantId, hits.map((hit) => hit.memory.id), span)).map((found) => [found.anchorId, found]),
    );
    return hits.map((hit) => {
      const found = neighbourhoods.get(hit.memory.id);
      // The neighbours are those of the memory as it is now: one given to another user or session
      // since it was read for the page brings none (they would be that user's or session's turns).
      const alike = (memory: Memory): boolean => memory.userId === hit.memory.userId && memory.sessionId === hit.memory.sessionId;
      if (found === undefined || ![...found.before, ...found.after].every(alike)) return hit;
      const before = found.before.map((memory, index) => ({ memory, offset: index - found.before.length }));
      const after = found.after.map((memory, index) => ({ memory, offset: index + 1 }));
      return { ...hit, context: [...before, ...after] };
    });
  }
}

/**
 * Adds the similarity of each word match that came with its sketch (or its vector) and that the
 * vector ranking did not measure: a large user's best word matches, rarely among the vector
 * search's. A sketch's cosine is within about 0.001 of the vector's, as for a scope ranked from
 * its sketches.
 */
function measureBroughtMatches(words: readonly WordMatch[], embedding: Float32Array, similarities: Map<string, number>): void {
  let query: SketchQuery | null | undefined;
  for (const match of words) {
    if (similarities.has(match.id)) continue;
    if (match.sketch !== undefined) {
      query ??= sketchQueryOf(embedding);
      similarities.set(match.id, query === null ? 0 : sketchSimilarity(query, match.sketch));
    } else if (match.embedding !== undefined) {
      similarities.set(match.id, cosineSimilarity(embedding, match.embedding));
    }
  }
}

function withoutVector({ embedding: _vector, ...memory }: CandidateMemory): Memory {
  return memory;
}
