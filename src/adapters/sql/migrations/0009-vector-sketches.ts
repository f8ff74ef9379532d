import type { Migration } from './migration.js';

/**
 * Each memory keeps a sketch of its vector (8 bits a dimension, see sketchOf), with which a search
 * ranks a small scope's memories itself instead of asking the vector store: one hop fewer, and an
 * exact ranking. An index on the user holds the sketches with the ids, so a user's are read from
 * it alone, a few pages, rather than from as many table pages as they have memories. Rows written
 * before this migration get theirs from the upkeep pass (see fillSketches); until a scope's are all
 * there, its searches ask the vector store.
 */
export const vectorSketches: Migration = {
  version: 9,
  name: 'vector-sketches',
  statements: [
    `ALTER TABLE memories ADD COLUMN sketch bytea`,
    `CREATE INDEX memories_user_sketches ON memories (tenant_id, user_id) INCLUDE (id, sketch) WHERE NOT deleted`,
  ],
};
