import type { SqlExecutor } from './sql-client.js';

/** The tables whose rows change with use: inserts grow them, updates and deletes leave dead rows. */
const CHANGING_TABLES = ['memories', 'memory_terms', 'write_tasks', 'user_erasures', 'api_keys'] as const;
/** A table is due once it has grown by this share of its size at its last upkeep... */
const GROWTH = 0.2;
/** ...and by this many pages (of 8 kB) at least, so that small tables are left alone. */
const MIN_GROWTH_PAGES = 16;

interface TableSize {
  readonly table_name: string;
  /** Pages at the last VACUUM or ANALYZE (pg_class.relpages). */
  readonly pages_then: number;
  readonly pages_now: number | string;
  readonly analysed: boolean;
}

/**
 * Vacuums and analyses each changing table that has grown noticeably since it was last done, and
 * returns their names. A server's autovacuum does the same, but PGlite has no autovacuum and a
 * server may have it turned off: without statistics the planner takes a user's thousand memories
 * for one row and picks plans that get slower with every write, and without vacuum the dead rows
 * of finished tasks pile up. Costs two catalogue reads when nothing is due; VACUUM only visits the
 * pages written since the last one. VACUUM and ANALYZE are two statements, so that a database that
 * runs one statement at a time (PGlite) answers those waiting between them.
 */
export async function keepTablesFit(sql: SqlExecutor): Promise<string[]> {
  const sizes = await sql.query<TableSize>(
    `SELECT t.name AS table_name, c.relpages AS pages_then, c.reltuples >= 0 AS analysed,
            pg_relation_size(c.oid) / current_setting('block_size')::int AS pages_now
     FROM unnest($1::text[]) AS t(name)
     JOIN pg_class c ON c.oid = to_regclass(t.name)`,
    [CHANGING_TABLES],
  );
  const due = sizes.filter((size) => {
    const pagesNow = Number(size.pages_now);
    if (!size.analysed) return pagesNow > 0;
    return pagesNow > size.pages_then * (1 + GROWTH) + MIN_GROWTH_PAGES;
  });
  for (const size of due) {
    // Names come from CHANGING_TABLES, never from input; VACUUM cannot take a parameter.
    await sql.query(`VACUUM "${size.table_name}"`);
    await sql.query(`ANALYZE "${size.table_name}"`);
  }
  return due.map((size) => size.table_name);
}
