import type { Logger } from '../../ports/logger.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import { createSqlMetadataStore } from '../sql/sql-metadata-store.js';
import { postgresConnection } from './connection-config.js';
import { PostgresKeyChanges } from './postgres-key-changes.js';
import { PostgresSqlClient } from './postgres-sql-client.js';

export interface PostgresMetadataStoreOptions {
  /** A `postgres://` URL; `sslmode` and `sslrootcert` are honoured (see postgresConnection). */
  readonly url: string;
  /** Connections kept open at most. Default 10. */
  readonly poolSize?: number;
  /** CA certificate file for `sslmode=verify-ca|verify-full` when the URL names none. Default: system roots. */
  readonly caFile?: string;
  /** How long to wait for a connection before reporting postgres unavailable, in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** How long a statement may go unanswered, in ms; 0 for no limit. See PostgresPoolOptions. */
  readonly statementTimeoutMs?: number;
  readonly logger: Logger;
}

/**
 * The metadata store in a PostgreSQL server. Connects at once, so an unreachable server fails
 * here with DependencyUnavailableError('postgres'); call `migrate()` before use.
 */
export async function createPostgresMetadataStore(options: PostgresMetadataStoreOptions): Promise<MetadataStore> {
  const connection = await postgresConnection(options.url, options.caFile);
  const client = new PostgresSqlClient({
    connection,
    poolSize: options.poolSize,
    connectTimeoutMs: options.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    logger: options.logger,
  });
  try {
    return await createSqlMetadataStore({
      client,
      logger: options.logger,
      keyChanges: new PostgresKeyChanges({ connection, connectTimeoutMs: options.connectTimeoutMs, logger: options.logger }),
    });
  } catch (error) {
    await client.close();
    throw error;
  }
}
