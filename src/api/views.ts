import type { MemoryView } from '../contracts/common.js';
import type { Memory } from '../domain/memory.js';

export function memoryView(memory: Memory): MemoryView {
  return {
    id: memory.id,
    text: memory.text,
    user_id: memory.userId,
    session_id: memory.sessionId,
    role: memory.role,
    created_at: memory.createdAt.toISOString(),
    metadata: { ...memory.metadata },
  };
}
