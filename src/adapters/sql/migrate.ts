import type { Logger } from '../../ports/logger.js';
import type { Migration } from './migrations/index.js';
import type { SqlClient } from './sql-client.js';

/**
 * Applies the pending migrations in one transaction. The advisory lock makes processes that start
 * at once wait for each other; the second one then finds nothing left to do.
 */
export async function runMigrations(
  client: SqlClient,
  migrations: readonly Migration[],
  logger: Logger,
): Promise<void> {
  const applied = await client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('engram:migrations'))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((row) => Number(row.version)));
    const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => !done.has(m.version));
    for (const migration of pending) {
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    return pending;
  });
  for (const migration of applied) {
    logger.info({ version: migration.version, name: migration.name }, 'applied database migration');
  }
}
