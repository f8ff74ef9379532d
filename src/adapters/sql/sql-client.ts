/** A statement with `$1` placeholders and its parameters. */
export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
  /**
   * Keep the statement prepared on the connection and reuse its plan: for statements that run
   * often and cost more to plan than to run. Only for texts from a bounded set (a shape per
   * option, never a text that grows with user input); past `MAX_PREPARED_TEXTS` a text runs
   * unprepared. Default false.
   */
  readonly prepare?: boolean;
}

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
  /**
   * Runs `statements` in order in one transaction and returns the rows of the last one. Unlike
   * `transaction`, the client knows the whole transaction up front and may hand it over at once.
   */
  transactionOf<Row>(statements: readonly SqlStatement[]): Promise<Row[]>;
  /**
   * Runs statements that only read, each after `prefix` (the settings of a scope), and answers
   * each one's rows on its own, in order. A client may run them all in one transaction handed
   * over at once, answering each statement as soon as it has run, or each in a transaction of
   * its own.
   */
  readEach(prefix: readonly SqlStatement[], statements: readonly SqlStatement[]): Array<Promise<unknown[]>>;
  /**
   * The same database for work that may take long (migrations, vacuum, erasures), without the time
   * limit the client sets on a statement; the client itself where it sets none.
   */
  readonly unhurried: SqlClient;
  close(): Promise<void>;
}
