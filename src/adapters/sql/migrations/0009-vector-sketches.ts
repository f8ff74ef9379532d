import type { Migration } from './migration.js';

/**
 * Each memory keeps a sketch of its vector (8 bits a dimension, see sketchOf), with which a search
 * ranks a small scope's memories itself instead of asking the vector store: one hop fewer, and an
 * exact ranking. An index on the user holds the sketches with the ids, so a user's are read from
 * it alone, a few pages, rather than from as many table pages as they have memories.
 *
 * A sketch never outlives its vector: a write that changes the vector without bringing a new
 * sketch (a process of an earlier version, an UPDATE typed by hand) clears it. Rows without a
 * sketch (those, and the rows written before this migration) are listed by a partial index, which
 * the table upkeep walks to sketch them (see fillSketches); until a scope's are all there, its
 * searches ask the vector store.
 */
export const vectorSketches: Migration = {
  version: 9,
  name: 'vector-sketches',
  statements: [
    `ALTER TABLE memories ADD COLUMN sketch bytea`,
    `CREATE INDEX memories_user_sketches ON memories (tenant_id, user_id) INCLUDE (id, sketch) WHERE NOT deleted`,
    `CREATE INDEX memories_unsketched ON memories (tenant_id, id) WHERE sketch IS NULL AND NOT deleted`,
    `CREATE FUNCTION engram_clear_stale_sketch() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.sketch IS NOT DISTINCT FROM OLD.sketch THEN
         NEW.sketch := NULL;
       END IF;
       RETURN NEW;
     END
     $$`,
    `CREATE TRIGGER memories_sketch_follows_vector BEFORE UPDATE OF embedding ON memories
     FOR EACH ROW WHEN (NEW.embedding IS DISTINCT FROM OLD.embedding) EXECUTE FUNCTION engram_clear_stale_sketch()`,
  ],
};
