import type { Principal } from '../domain/api-key.js';
import { NotFoundError } from '../domain/errors.js';
import type { MemoryRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';

/**
 * Deletes from every store. The vector goes first: if the vector store is down the request fails
 * before anything changed, and a retry finishes the job. The Postgres tombstone then outranks any
 * write of the same memory accepted earlier and still in flight. The vector is removed once more
 * after it: a worker that stored that write may have written its vector in between and checked
 * Postgres before the tombstone was there (its check after the tombstone removes it itself).
 */
export class MemoryEraser {
  constructor(private readonly deps: { readonly memories: MemoryRepository; readonly vectorStore: VectorStore }) {}

  async deleteMemory(principal: Principal, id: string): Promise<void> {
    const memory = await this.deps.memories.get(principal.tenantId, id);
    if (memory !== null) await this.deps.vectorStore.remove(principal.tenantId, memory.userId, [id]);
    // With no live memory, a write of it still in flight is deleted ahead of its landing.
    const removed = await this.deps.memories.remove(principal.tenantId, id);
    if (removed === null) throw new NotFoundError('memory');
    await this.deps.vectorStore.remove(principal.tenantId, removed.userId, [id]);
  }

  /** Erases all of a user's memories; returns how many there were. */
  async eraseUser(principal: Principal, userId: string): Promise<number> {
    await this.deps.vectorStore.removeUser(principal.tenantId, userId);
    const erased = await this.deps.memories.eraseUser(principal.tenantId, userId);
    // As for one memory: a vector written meanwhile by a worker that checked before the erasure.
    await this.deps.vectorStore.removeUser(principal.tenantId, userId);
    return erased;
  }
}
