import type { Migration } from './migration.js';

/**
 * The words of a memory replaced, deleted or erased leave `memory_terms` one by one, each found by
 * the whole key. In 0005's single statement, `lexeme = ANY (tsvector_to_array(...))` holds a
 * function that is not leakproof, so under the tenant's policy it could not bound the index scan:
 * each row read the user's whole range of the index (59 pages a memory for a user of 2,000, and
 * growing with them), and erasing a user of 20k memories took two minutes (1.2 s now).
 */
export const memoryTermsByWholeKey: Migration = {
  version: 15,
  name: 'memory-terms-by-whole-key',
  statements: [
    `CREATE OR REPLACE FUNCTION engram_follow_memory_terms() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
       word text;
     BEGIN
       IF TG_OP = 'UPDATE' AND NOT OLD.deleted AND NOT NEW.deleted
          AND NEW.user_id = OLD.user_id AND NEW.search_terms = OLD.search_terms THEN
         RETURN NULL;
       END IF;
       IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.deleted THEN
         FOREACH word IN ARRAY tsvector_to_array(OLD.search_terms) LOOP
           DELETE FROM memory_terms
           WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id AND lexeme = word AND memory_id = OLD.id;
         END LOOP;
       END IF;
       IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.deleted THEN
         INSERT INTO memory_terms (tenant_id, user_id, lexeme, memory_id)
         SELECT NEW.tenant_id, NEW.user_id, lexeme, NEW.id FROM unnest(tsvector_to_array(NEW.search_terms)) AS lexeme
         ON CONFLICT DO NOTHING;
       END IF;
       RETURN NULL;
     END
     $$`,
  ],
};
