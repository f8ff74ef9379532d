import type { Migration } from './migration.js';

/**
 * Engram's search statements are prepared once and planned once for every user (a generic plan),
 * from the statistics of who holds how many rows. When one user holds nearly every row (a store
 * loaded with one large history, then opened to others), PostgreSQL takes each user for that
 * large: reading a newcomer's memories then scanned the whole table instead of walking their few
 * index entries (112 ms against 0.7 ms at 100k memories). The statistics are told that a user
 * holds about one row in a hundred, whatever ANALYZE samples; the statements bound their own work
 * for users who hold more.
 */
export const usersAreMany: Migration = {
  version: 6,
  name: 'users-are-many',
  statements: [
    `ALTER TABLE memories ALTER COLUMN user_id SET (n_distinct = -0.01)`,
    `ALTER TABLE memory_terms ALTER COLUMN user_id SET (n_distinct = -0.01)`,
    `ANALYZE memories`,
    `ANALYZE memory_terms`,
  ],
};
