import { SCOPED_ROLE, TENANT_POLICY } from './0002-row-level-security.js';
import type { Migration } from './migration.js';

/**
 * The word index, per user, in a form that row-level security lets the planner use. Under a
 * policy, PostgreSQL evaluates only leakproof operators inside an index scan; the `@@` of full-text
 * search is not one, so the GIN index of 0003 was never used by a tenant-scoped statement, and a
 * word's frequency or matches were found by reading the user's memories one by one (all of them,
 * for a word the user never wrote: a heavy user's search took 100 ms and more). Text equality is
 * leakproof: `memory_terms` holds one row per (user, word, memory), kept by a trigger on
 * `memories` from the same stemmed words as `search_terms`, so a word's memories are one index
 * range whatever the size of the user or the table. The GIN index goes.
 */
export const memoryTerms: Migration = {
  version: 5,
  name: 'memory-terms',
  statements: [
    `CREATE TABLE memory_terms (
       tenant_id text NOT NULL,
       user_id text NOT NULL,
       lexeme text NOT NULL,
       memory_id text NOT NULL,
       PRIMARY KEY (tenant_id, user_id, lexeme, memory_id)
     )`,
    `ALTER TABLE memory_terms ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE memory_terms FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON memory_terms USING (${TENANT_POLICY}) WITH CHECK (${TENANT_POLICY})`,
    `DO $$
     BEGIN
       IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SCOPED_ROLE}') THEN
         GRANT SELECT, INSERT, DELETE ON memory_terms TO ${SCOPED_ROLE};
       END IF;
     END
     $$`,
    // Runs as the writer, under its tenant's policy. A live row's words are its search_terms; a
    // tombstone has none.
    `CREATE FUNCTION engram_follow_memory_terms() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'UPDATE' AND NOT OLD.deleted AND NOT NEW.deleted
          AND NEW.user_id = OLD.user_id AND NEW.search_terms = OLD.search_terms THEN
         RETURN NULL;
       END IF;
       IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.deleted THEN
         DELETE FROM memory_terms
         WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id
           AND lexeme = ANY (tsvector_to_array(OLD.search_terms)) AND memory_id = OLD.id;
       END IF;
       IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.deleted THEN
         INSERT INTO memory_terms (tenant_id, user_id, lexeme, memory_id)
         SELECT NEW.tenant_id, NEW.user_id, lexeme, NEW.id FROM unnest(tsvector_to_array(NEW.search_terms)) AS lexeme
         ON CONFLICT DO NOTHING;
       END IF;
       RETURN NULL;
     END
     $$`,
    `CREATE TRIGGER memories_follow_terms AFTER INSERT OR DELETE OR UPDATE OF user_id, text, deleted ON memories
     FOR EACH ROW EXECUTE FUNCTION engram_follow_memory_terms()`,
    // The memories already stored: every tenant's, so the statement declares itself system-wide.
    `SELECT set_config('engram.scope', 'system', true)`,
    `INSERT INTO memory_terms (tenant_id, user_id, lexeme, memory_id)
     SELECT tenant_id, user_id, lexeme, id FROM memories, unnest(tsvector_to_array(search_terms)) AS lexeme
     WHERE NOT deleted`,
    `SELECT set_config('engram.scope', '', true)`,
    `DROP INDEX memories_search_terms`,
  ],
};
