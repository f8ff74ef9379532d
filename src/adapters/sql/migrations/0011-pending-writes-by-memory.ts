import type { Migration } from './migration.js';

/**
 * A delete of a memory whose write is accepted but not yet stored must still win over that write
 * (see SqlMemoryRepository.remove): this index finds an id's writes still in flight at once, however
 * long the queue of other writes is.
 */
export const pendingWritesByMemory: Migration = {
  version: 11,
  name: 'pending-writes-by-memory',
  statements: [
    `CREATE INDEX write_tasks_pending_memories ON write_tasks (tenant_id, memory_id, seq)
     WHERE status IN ('queued', 'processing')`,
  ],
};
