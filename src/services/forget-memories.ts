import type { Principal } from '../domain/api-key.js';
import { NotFoundError } from '../domain/errors.js';
import type { MemoryRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';

/**
 * Deletes from every store. The vector goes first: if the vector store is down the request fails
 * and nothing changed, and a retry finishes the job. The Postgres tombstone then outranks any
 * write of the same memory accepted earlier and still in flight.
 */
export class MemoryEraser {
  constructor(private readonly deps: { readonly memories: MemoryRepository; readonly vectorStore: VectorStore }) {}

  async deleteMemory(principal: Principal, id: string): Promise<void> {
    const memory = await this.deps.memories.get(principal.tenantId, id);
    if (memory === null) throw new NotFoundError('memory');
    await this.deps.vectorStore.remove(principal.tenantId, memory.userId, [id]);
    await this.deps.memories.remove(principal.tenantId, id);
  }

  /** Erases all of a user's memories; returns how many there were. */
  async eraseUser(principal: Principal, userId: string): Promise<number> {
    await this.deps.vectorStore.removeUser(principal.tenantId, userId);
    return this.deps.memories.eraseUser(principal.tenantId, userId);
  }
}
