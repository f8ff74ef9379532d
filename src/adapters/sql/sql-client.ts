/** Runs statements with `$1` placeholders and returns the rows. */
export interface SqlExecutor {
  query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

/**
 * The little of a PostgreSQL connection that the repositories need, so one SQL implementation
 * serves both a server (node-postgres pool) and the embedded PGlite.
 */
export interface SqlClient extends SqlExecutor {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
