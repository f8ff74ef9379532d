import type { Migration } from './migration.js';

/**
 * Finished write tasks (their drafts already dropped) are forgotten once older than the retention
 * (see TaskRetention), oldest first, a batch at a time: this index lists the ones that may go, by
 * the time they finished, so each batch reads only its own entries. A task that carries an
 * idempotency key stays: it is what answers a retry with that key.
 */
export const finishedTaskAges: Migration = {
  version: 10,
  name: 'finished-task-ages',
  statements: [
    `CREATE INDEX write_tasks_finished ON write_tasks (updated_at)
     WHERE status IN ('completed', 'failed') AND idempotency_key IS NULL`,
  ],
};
