import type { SearchScope } from '../domain/filters.js';
import type { Metadata, Role } from '../domain/memory.js';
import type { EmbeddingModelInfo } from './embedder.js';

export interface VectorRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly role: Role;
  readonly createdAt: Date;
  readonly metadata: Metadata;
  readonly embedding: Float32Array;
}

export interface VectorQuery {
  readonly scope: SearchScope;
  readonly embedding: Float32Array;
  readonly topK: number;
  /**
   * Every live memory of the scope, as the metadata store knows them, when the store asked for
   * them (`idsWanted`): the query returns none but these, and may take them in place of its filters.
   */
  readonly ids?: readonly string[];
}

export interface VectorMatch {
  readonly id: string;
  /** Cosine similarity, higher is closer. */
  readonly score: number;
}

/**
 * Holds the vectors. Every call is scoped to one tenant and user: no query can reach another's
 * vectors. Connectivity failures surface as DependencyUnavailableError('chroma').
 */
export interface VectorStore {
  /** Records which model makes the vectors; throws EmbeddingModelMismatchError if another one did. */
  bindModel(model: EmbeddingModelInfo): Promise<void>;
  /**
   * Records, after bindModel, which metadata store (its `identity`) the vectors belong to; throws
   * VectorStoreInUseError if another: two deployments on one vector store would each take the
   * other's vectors for orphans and remove them. A store set up before this was recorded is taken.
   */
  bindStore(storeId: string): Promise<void>;
  /** Inserts or replaces by id: the same id never yields two vectors. */
  upsert(records: readonly VectorRecord[]): Promise<void>;
  query(query: VectorQuery): Promise<VectorMatch[]>;
  /**
   * How many memory ids of a scope make its query cheaper than the store's own filtering, for
   * this user; 0 when ids would not help. A caller with more ids than that sends none.
   */
  idsWanted(tenantId: string, userId: string): Promise<number>;
  remove(tenantId: string, userId: string, ids: readonly string[]): Promise<void>;
  removeUser(tenantId: string, userId: string): Promise<void>;
  /** Ids held for one user, for reconciliation with the metadata store. */
  listIds(tenantId: string, userId: string): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
