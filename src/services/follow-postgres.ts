import type { EmbeddedMemory } from '../domain/memory.js';
import type { Logger } from '../ports/logger.js';
import type { MemoryRepository } from '../ports/metadata-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { vectorRecord } from './vector-record.js';

/** Rounds of finding Postgres changed under a vector just written, before leaving it to the next writer. */
const MAX_ROUNDS = 8;

export interface FollowPostgresDeps {
  readonly memories: MemoryRepository;
  readonly vectorStore: VectorStore;
  readonly logger: Logger;
}

/**
 * Makes the vector store hold what Postgres holds for one memory now: the current version's vector
 * under its user, and no copy under any other of `userIds` (the users it had in the caller's sight).
 * Postgres is read again after the vector is written or removed; while it changed meanwhile (a
 * write, a delete or a move landed), the new state is written in turn. Whoever changes a memory in
 * Postgres calls this after: the last of them to touch its vector has then written the state that
 * stays, and a removal can never take the vector of a write that landed after the reading.
 */
export async function followPostgres(deps: FollowPostgresDeps, tenantId: string, id: string, userIds: Iterable<string>): Promise<void> {
  const users = new Set(userIds);
  let current = await deps.memories.getEmbedded(tenantId, id);
  for (let round = 1; ; round++) {
    await writeState(deps, tenantId, id, current, users);
    const now = await deps.memories.get(tenantId, id);
    if (now?.version === current?.version) return;
    if (round === MAX_ROUNDS) {
      deps.logger.warn({ rounds: round }, "a memory kept changing while its vector was written; its last writer's vector stands");
      return;
    }
    current = await deps.memories.getEmbedded(tenantId, id);
  }
}

/** Writes one state of a memory (null: none live) to the vector store; `users` gains its user. */
async function writeState(
  deps: FollowPostgresDeps,
  tenantId: string,
  id: string,
  state: EmbeddedMemory | null,
  users: Set<string>,
): Promise<void> {
  for (const userId of users) {
    if (userId !== state?.userId) await deps.vectorStore.remove(tenantId, userId, [id]);
  }
  if (state === null) return;
  users.add(state.userId);
  await deps.vectorStore.upsert([vectorRecord(state)]);
}
