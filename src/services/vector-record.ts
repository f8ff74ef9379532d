import type { EmbeddedMemory } from '../domain/memory.js';
import type { VectorRecord } from '../ports/vector-store.js';

/** What the vector store keeps of a memory: its vector and the fields searches filter on. */
export function vectorRecord(memory: EmbeddedMemory): VectorRecord {
  return {
    id: memory.id,
    tenantId: memory.tenantId,
    userId: memory.userId,
    sessionId: memory.sessionId,
    role: memory.role,
    createdAt: memory.createdAt,
    metadata: memory.metadata,
    embedding: memory.embedding,
  };
}
