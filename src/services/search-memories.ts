import type { Principal } from '../domain/api-key.js';
import type { MetadataCondition } from '../domain/filters.js';
import type { Memory, ScoredMemory } from '../domain/memory.js';
import type { Embedder } from '../ports/embedder.js';
import type { MemoryRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';

export interface SearchRequest {
  readonly query: string;
  readonly userId: string;
  readonly sessionId?: string;
  /** How many results at most. */
  readonly topK: number;
  readonly filters?: readonly MetadataCondition[];
  readonly minScore?: number;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
}

export interface MemorySearchDeps {
  readonly memories: MemoryRepository;
  readonly vectorStore: VectorStore;
  /** The query-side embedder (usually with a cache in front). */
  readonly embedder: Embedder;
}

/**
 * Finds a user's memories closest in meaning to a query. The vector store ranks; Postgres is the
 * truth for what exists, so a vector whose memory was deleted meanwhile is never returned.
 */
export class MemorySearch {
  constructor(private readonly deps: MemorySearchDeps) {}

  async search(principal: Principal, request: SearchRequest): Promise<ScoredMemory[]> {
    const [embedding] = await this.deps.embedder.embed([request.query]);
    if (embedding === undefined) return [];
    const matches = await this.deps.vectorStore.query({
      scope: {
        tenantId: principal.tenantId,
        userId: request.userId,
        ...(request.sessionId === undefined ? {} : { sessionId: request.sessionId }),
        ...(request.filters === undefined ? {} : { metadata: request.filters }),
        ...(request.createdAfter === undefined ? {} : { createdAfter: request.createdAfter }),
        ...(request.createdBefore === undefined ? {} : { createdBefore: request.createdBefore }),
      },
      embedding,
      topK: request.topK,
    });
    const minScore = request.minScore ?? Number.NEGATIVE_INFINITY;
    const kept = matches.filter((match) => match.score >= minScore);
    if (kept.length === 0) return [];
    const rows = new Map<string, Memory>(
      (await this.deps.memories.getMany(principal.tenantId, kept.map((match) => match.id))).map((memory) => [memory.id, memory]),
    );
    const results: ScoredMemory[] = [];
    for (const match of kept) {
      const memory = rows.get(match.id);
      if (memory !== undefined && memory.userId === request.userId) results.push({ memory, score: match.score });
    }
    return results;
  }
}
