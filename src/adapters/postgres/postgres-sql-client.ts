import pg from 'pg';
import { DependencyUnavailableError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import type { SqlClient, SqlExecutor, SqlStatement } from '../sql/sql-client.js';
import { StatementNames } from '../sql/statement-names.js';
import { asDependencyError, isConnectionFailure, isStatementTimeout } from './connection-errors.js';
import type { PostgresConnection } from './connection-config.js';
import { runPipelined, runPipelinedEach, type BoundStatement } from './prepared-pipeline.js';

export interface PostgresPoolOptions {
  readonly connection: PostgresConnection;
  /** Connections kept open at most. Default 10. */
  readonly poolSize?: number;
  /** How long to wait for a connection before reporting postgres unavailable, in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /**
   * How long a statement may run before the server cancels it (rolling its transaction back) and
   * postgres counts as unavailable, in ms; a server that does not answer at all is given up
   * ANSWER_GRACE_MS later, its connection dropped. 0 for no limit. Default 30,000.
   */
  readonly statementTimeoutMs?: number;
  readonly logger: Logger;
}

/**
 * Engram's statements answer in milliseconds; one running for this long waits on something that
 * may never come (a lock held by a stuck session, a server paused or cut off by the network with
 * its connections left open), which would otherwise hold a request for good. Migrations, table
 * upkeep and erasures of users, which may take longer on a large store, go through `unhurried`,
 * which has no limit. The default of ENGRAM_DB_STATEMENT_TIMEOUT_MS.
 */
const STATEMENT_TIMEOUT_MS = 30_000;
/**
 * How much longer than a statement's limit the client waits for any answer. The server cancels a
 * statement at the limit itself, and that answer comes within a round trip: a statement the
 * client gave up on was never left to commit after its failure was told (in one round trip the
 * commit is sent along with the statements). A server that says nothing this long is not there.
 */
const ANSWER_GRACE_MS = 1_000;
/** Connections for the unhurried work: a user's erasure need not wait behind a vacuum. */
const UNHURRIED_POOL_SIZE = 2;

/** A SqlClient over a node-postgres pool; any failure to reach the server is a DependencyUnavailableError. */
export class PostgresSqlClient implements SqlClient {
  private readonly pool: pg.Pool;
  /** One name per prepared text for every connection of the pool: node-postgres prepares it once per connection. */
  private readonly statementNames = new StatementNames();
  /** The names each connection has prepared, learned from transactions that ran them all. */
  private readonly preparedOn = new WeakMap<pg.PoolClient, Set<string>>();
  private closed: Promise<void> | null = null;
  #unhurried: PostgresSqlClient | null = null;

  constructor(private readonly options: PostgresPoolOptions) {
    const statementTimeoutMs = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
    // A Date goes out in UTC, not in the process's zone, whose old offsets the driver cuts to
    // whole minutes (a bound of 1850 in New York would move by two seconds).
    pg.defaults.parseInputDatesAsUTC = true;
    this.pool = new pg.Pool({
      ...options.connection,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + ANSWER_GRACE_MS } : {}),
      application_name: 'engram',
    });
    // An idle connection that breaks is dropped by the pool; without a listener it would crash the process.
    this.pool.on('error', (error) => options.logger.warn({ err: error }, 'idle postgres connection failed'));
    // One that breaks while lent out (a server restart, a terminated backend) emits the same error on
    // its client, beside failing its statement, with no pool listener then: this one keeps it from
    // ending the process. The statement's own error is answered where it was made, and the pool drops
    // a client that can no longer run statements when it comes back.
    this.pool.on('connect', (client) => {
      client.on('error', (error) => options.logger.debug({ err: error }, 'postgres connection failed while in use'));
    });
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const client = await this.connect();
    return this.releasing(client, async () => (await client.query<Row & pg.QueryResultRow>(text, [...params])).rows);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.connect();
    return this.inTransaction(client, () =>
      work({
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (await client.query<Row & pg.QueryResultRow>(text, [...params])).rows,
      }),
    );
  }

  /**
   * Statements that are all prepared on the connection already go in one round trip (see
   * PipelinedStatements); otherwise, or the first time, one by one between BEGIN and COMMIT.
   */
  async transactionOf<Row>(statements: readonly SqlStatement[]): Promise<Row[]> {
    const names = statements.map(({ text, prepare }) => (prepare === true ? this.statementNames.nameOf(text) : null));
    const bound: BoundStatement[] = statements.flatMap(({ params }, index) => {
      const name = names[index];
      return name === null || name === undefined ? [] : [{ name, values: params }];
    });
    const client = await this.connect();
    if (bound.length === statements.length && this.hasPrepared(client, bound)) {
      return this.releasing(client, () => runPipelined<Row>(client, bound));
    }
    const rows = await this.inTransaction(client, async () => {
      let last: Row[] = [];
      for (const [index, { text, params }] of statements.entries()) {
        const name = names[index] ?? null;
        const values = [...params];
        last = (await client.query<Row & pg.QueryResultRow>(name === null ? { text, values } : { name, text, values })).rows;
      }
      return last;
    });
    const known = this.preparedOn.get(client) ?? new Set<string>();
    for (const name of names) if (name !== null && name !== undefined) known.add(name);
    this.preparedOn.set(client, known);
    return rows;
  }

  /**
   * Prepared statements go on one connection: once it has prepared them all, in one round trip
   * with a Flush after each, so that the server sends each one's rows as soon as it has run them
   * (one transaction, one wake-up of one server process); until then one after the other, each in
   * a transaction of its own, which prepares them. Statements not all prepared (or past the texts
   * a process prepares) take a connection each, all at once.
   */
  readEach(prefix: readonly SqlStatement[], statements: readonly SqlStatement[]): Array<Promise<unknown[]>> {
    if (statements.length === 0) return [];
    const all = [...prefix, ...statements];
    const names = all.map(({ text, prepare }) => (prepare === true ? this.statementNames.nameOf(text) : null));
    if (!names.every((name): name is string => name !== null)) {
      return statements.map((statement) => this.transactionOf<unknown>([...prefix, statement]));
    }
    const bound = all.map(({ params }, index) => ({ name: names[index] as string, values: params }));
    const settle: Array<{ resolve: (rows: unknown[]) => void; reject: (error: unknown) => void }> = [];
    const answers = statements.map((_, index) => new Promise<unknown[]>((resolve, reject) => (settle[index] = { resolve, reject })));
    let answered = 0;
    const answer = (index: number, rows: unknown[]): void => {
      settle[index]?.resolve(rows);
      answered = index + 1;
    };
    this.readOnOneConnection(prefix, statements, bound, answer).catch((error: unknown) => {
      for (const { reject } of settle.slice(answered)) reject(error);
    });
    return answers;
  }

  /** See readEach: `bound` is prefix and statements by name; `answer` is told each statement's rows, in order. */
  private async readOnOneConnection(
    prefix: readonly SqlStatement[],
    statements: readonly SqlStatement[],
    bound: readonly BoundStatement[],
    answer: (index: number, rows: unknown[]) => void,
  ): Promise<void> {
    const client = await this.connect();
    if (this.hasPrepared(client, bound)) {
      await this.releasing(client, () =>
        runPipelinedEach(client, bound, (index, rows) => {
          if (index >= prefix.length) answer(index - prefix.length, rows);
        }),
      );
      return;
    }
    client.release();
    for (const [index, statement] of statements.entries()) answer(index, await this.transactionOf<unknown>([...prefix, statement]));
  }

  /** Whether `client` has prepared every one of `bound` (learned from transactions that ran them). */
  private hasPrepared(client: pg.PoolClient, bound: readonly BoundStatement[]): boolean {
    const prepared = this.preparedOn.get(client);
    return prepared !== undefined && bound.every(({ name }) => prepared.has(name));
  }

  /** The same database without a time limit per statement, on connections of its own, opened when first used. */
  get unhurried(): SqlClient {
    this.#unhurried ??= new PostgresSqlClient({ ...this.options, poolSize: UNHURRIED_POOL_SIZE, statementTimeoutMs: 0 });
    return this.#unhurried;
  }

  close(): Promise<void> {
    this.closed ??= Promise.all([this.pool.end(), this.#unhurried?.close()]).then(() => undefined);
    return this.closed;
  }

  /** Runs `work` between BEGIN and COMMIT on `client`, and gives the client back to the pool. */
  private async inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isStatementTimeout(error)) {
        // The server may still be at the statement: the connection cannot be trusted with another.
        broken = error;
        throw asDependencyError(error);
      }
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed');
      }
      throw asDependencyError(error);
    } finally {
      client.release(broken);
    }
  }

  /** Runs `work` on `client` and gives the client back to the pool, dropping it if the connection broke. */
  private async releasing<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
    let broken: Error | undefined;
    try {
      return await work();
    } catch (error) {
      if (error instanceof Error && isConnectionFailure(error)) broken = error;
      throw asDependencyError(error);
    } finally {
      client.release(broken);
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      // Not getting a connection at all is always the server's absence, whatever the error says.
      throw new DependencyUnavailableError('postgres', error);
    }
  }
}
