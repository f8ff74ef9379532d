import type { Migration } from './migration.js';

/**
 * The lexical leg of search: each memory's words, stemmed with the English configuration and
 * without stopwords, kept by PostgreSQL itself so that it can never drift from the text. The
 * configuration is named, not taken from `default_text_search_config`, so that the column (an
 * immutable expression) and the queries always agree whatever the server's settings.
 */
export const fullTextSearch: Migration = {
  version: 3,
  name: 'full-text-search',
  statements: [
    `ALTER TABLE memories ADD COLUMN search_terms tsvector
       GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce(text, ''))) STORED`,
    `CREATE INDEX memories_search_terms ON memories USING gin (search_terms) WHERE NOT deleted`,
  ],
};
