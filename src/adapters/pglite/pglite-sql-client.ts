import type { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor } from '../sql/sql-client.js';

/**
 * A SqlClient over one PGlite instance. PGlite runs one statement at a time and queues the rest,
 * and a transaction holds it until it ends, so concurrent callers are serialised, never mixed.
 */
export class PgliteSqlClient implements SqlClient {
  private closed: Promise<void> | null = null;

  constructor(private readonly db: PGlite) {}

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.db.query<Row>(text, [...params])).rows;
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) =>
      work({ query: async <Row>(text: string, params: readonly unknown[] = []) => (await tx.query<Row>(text, [...params])).rows }),
    );
  }

  close(): Promise<void> {
    this.closed ??= this.db.close();
    return this.closed;
  }
}
