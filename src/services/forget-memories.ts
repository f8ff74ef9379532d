import type { Principal } from '../domain/api-key.js';
import { NotFoundError } from '../domain/errors.js';
import { followPostgres, type FollowPostgresDeps } from './follow-postgres.js';

/**
 * Deletes from every store. The vector goes first: if the vector store is down the request fails
 * before anything changed, and a retry finishes the job. The Postgres tombstone then outranks any
 * write of the same memory accepted earlier and still in flight. The vector store then follows
 * Postgres once more (see followPostgres): a worker that stored such a write may have written its
 * vector in between and checked Postgres before the tombstone was there, and a write accepted after
 * the delete may land meanwhile, whose vector must stay.
 */
export class MemoryEraser {
  constructor(private readonly deps: FollowPostgresDeps) {}

  async deleteMemory(principal: Principal, id: string): Promise<void> {
    const memory = await this.deps.memories.get(principal.tenantId, id);
    if (memory !== null) await this.deps.vectorStore.remove(principal.tenantId, memory.userId, [id]);
    // With no live memory, a write of it still in flight is deleted ahead of its landing.
    const removed = await this.deps.memories.remove(principal.tenantId, id);
    if (removed === null) throw new NotFoundError('memory');
    await followPostgres(this.deps, principal.tenantId, id, [removed.userId, ...removed.formerUserIds]);
  }

  /** Erases all of a user's memories; returns how many there were. */
  async eraseUser(principal: Principal, userId: string): Promise<number> {
    await this.deps.vectorStore.removeUser(principal.tenantId, userId);
    const { erased, othersHeld } = await this.deps.memories.eraseUser(principal.tenantId, userId);
    // As for one memory: a vector written meanwhile by a worker that checked before the erasure.
    await this.deps.vectorStore.removeUser(principal.tenantId, userId);
    // Memories a write of theirs was to take over from another user went too, with that one's vector.
    for (const memory of othersHeld) await followPostgres(this.deps, principal.tenantId, memory.id, [memory.userId]);
    // Writes accepted after the erasure may have landed, and their vectors gone with the others.
    for (const id of await this.deps.memories.listIds(principal.tenantId, userId)) {
      await followPostgres(this.deps, principal.tenantId, id, [userId]);
    }
    return erased;
  }
}
