import pg from 'pg';
import { DependencyUnavailableError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import type { SqlClient, SqlExecutor, SqlStatement } from '../sql/sql-client.js';
import { StatementNames } from '../sql/statement-names.js';
import { asDependencyError } from './connection-errors.js';
import type { PostgresConnection } from './connection-config.js';

export interface PostgresPoolOptions {
  readonly connection: PostgresConnection;
  /** Connections kept open at most. Default 10. */
  readonly poolSize?: number;
  /** How long to wait for a connection before reporting postgres unavailable, in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
}

/** A SqlClient over a node-postgres pool; any failure to reach the server is a DependencyUnavailableError. */
export class PostgresSqlClient implements SqlClient {
  private readonly pool: pg.Pool;
  /** One name per prepared text for every connection of the pool: node-postgres prepares it once per connection. */
  private readonly statementNames = new StatementNames();
  private closed: Promise<void> | null = null;

  constructor(options: PostgresPoolOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connection.connectionString,
      ssl: options.connection.ssl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      application_name: 'engram',
    });
    // An idle connection that breaks is dropped by the pool; without a listener it would crash the process.
    this.pool.on('error', (error) => options.logger.warn({ err: error }, 'idle postgres connection failed'));
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      return (await client.query<Row & pg.QueryResultRow>(text, [...params])).rows;
    } catch (error) {
      if (error instanceof Error && asDependencyError(error) !== error) broken = error;
      throw asDependencyError(error);
    } finally {
      client.release(broken);
    }
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inTransaction((client) =>
      work({
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (await client.query<Row & pg.QueryResultRow>(text, [...params])).rows,
      }),
    );
  }

  transactionOf<Row>(statements: readonly SqlStatement[]): Promise<Row[]> {
    return this.inTransaction(async (client) => {
      let rows: Row[] = [];
      for (const { text, params, prepare } of statements) {
        const name = prepare === true ? this.statementNames.nameOf(text) : null;
        const values = [...params];
        rows = (await client.query<Row & pg.QueryResultRow>(name === null ? { text, values } : { name, text, values })).rows;
      }
      return rows;
    });
  }

  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
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

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      // Not getting a connection at all is always the server's absence, whatever the error says.
      throw new DependencyUnavailableError('postgres', error);
    }
  }
}
