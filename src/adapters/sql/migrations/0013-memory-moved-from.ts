import type { Migration } from './migration.js';

/**
 * The user a memory's current version moved it from, if it did. Once that version is in Postgres
 * the worker removes the old user's vector; when the worker stops or Chroma fails in between, the
 * write is tried again, and the row by then names only the new user: this is where the retry learns
 * whose vector to remove (see APPLY_BATCH).
 */
export const memoryMovedFrom: Migration = {
  version: 13,
  name: 'memory-moved-from',
  statements: [`ALTER TABLE memories ADD COLUMN moved_from text`],
};
