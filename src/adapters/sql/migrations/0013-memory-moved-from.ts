import type { Migration } from './migration.js';

/**
 * The user a memory was last moved from. Once the moving version is in Postgres the worker removes
 * the old user's vector; when the worker stops or Chroma fails in between, the write is tried
 * again, and the row by then names only the new user: this is where the retry learns whose vector
 * to remove. A later write of the new user keeps it (it may overtake the retry), as does a delete
 * (see APPLY_BATCH and REMOVE_MEMORY).
 */
export const memoryMovedFrom: Migration = {
  version: 13,
  name: 'memory-moved-from',
  statements: [`ALTER TABLE memories ADD COLUMN moved_from text`],
};
