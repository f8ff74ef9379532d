import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../../ports/logger.js';
import type { MetadataStore } from '../../ports/metadata-store.js';
import type { RestartCounts } from '../../ports/restart-counts.js';
import { createSqlMetadataStore } from '../sql/sql-metadata-store.js';
import { lockDataDir } from '../data-dir-lock.js';
import { RestartingPgliteClient } from './restarting-pglite-client.js';

export interface PgliteMetadataStoreOptions {
  /**
   * Folder of the embedded database, created if missing. It holds the lock file and the
   * database itself in `pgdata/`.
   */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Hears of the database's stops and failed starts (see RestartingPgliteClient). */
  readonly restartCounts?: RestartCounts | undefined;
}

/**
 * PGlite runs Postgres as a single-user backend, with no checkpointer to start checkpoints: its
 * thread takes them itself (WalCheckpoints), after 32 MiB of log by default. After a checkpoint,
 * Postgres keeps between min_wal_size and max_wal_size of log files for reuse: about 64 MB on disk
 * rather than up to the default 1 GB.
 */
const LOG_FILES_KEPT = ['-c', 'max_wal_size=64MB', '-c', 'min_wal_size=32MB'];

/**
 * Postgres' buffer pool lives in the WebAssembly memory, which is never given back, on top of the
 * operating system's page cache that already holds the files PGlite reads. 128 MB, PostgreSQL's
 * default, holds what searches of 1,000 users' 100k memories touch; 64 MB did not, and each page
 * missed is a read through the file system: one client's search took about 0.5 ms longer there,
 * for about 100 MB less resident memory (see docs/performance.md, *The embedded buffer pool*).
 */
const BUFFER_POOL = ['-c', 'shared_buffers=128MB'];

/**
 * PGlite starts PostgreSQL with `fsync` off (`-F`): its file system could not flush. Engram's can
 * (FlushingNodeFS), through `fsync` alone (the file system's `fdatasync` does nothing), so a commit
 * is on the disk before it is answered, as on a server.
 */
const FLUSHED = ['-c', 'fsync=on', '-c', 'wal_sync_method=fsync'];

/**
 * The statistics target of the embedded database's ANALYZE (its table upkeep's, see
 * keepTablesFit): 9,000 rows sampled rather than 30,000. PGlite runs one statement at a time, and
 * every search and accept waits while ANALYZE reads its sample through the file system: at 100k
 * memories of 1,000 users it took 343 ms on memories and 138 ms on their words at the default of
 * 100, 115 and 72 ms at 30 (VACUUM and ANALYZE together held the database for 0.6-0.8 s while the
 * benchmark loaded).
 */
export const EMBEDDED_STATISTICS_TARGET = 30;
const SMALLER_SAMPLES = ['-c', `default_statistics_target=${EMBEDDED_STATISTICS_TARGET}`];

/** How Engram starts its embedded Postgres. */
export const PGLITE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams.filter((param) => param !== '-F'),
  ...FLUSHED,
  ...LOG_FILES_KEPT,
  ...BUFFER_POOL,
  ...SMALLER_SAMPLES,
];

/** Where in the data folder the database lives. */
function databaseDir(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

/** Whether the data folder holds a database already (createPgliteMetadataStore would make one). */
export function hasPgliteDatabase(dataDir: string): boolean {
  return existsSync(join(databaseDir(dataDir), 'PG_VERSION'));
}

/**
 * The metadata store in an embedded PGlite, in a thread of its own that is started again if it
 * stops (RestartingPgliteClient). Locks the folder first: a second opener, in this process or
 * another, gets a DataDirBusyError (code `data_dir_busy`). Call `migrate()` before use.
 */
export async function createPgliteMetadataStore(options: PgliteMetadataStoreOptions): Promise<MetadataStore> {
  const lock = await lockDataDir(options.dataDir, options.logger);
  let client: RestartingPgliteClient | null = null;
  try {
    client = await RestartingPgliteClient.start(
      { dataDir: databaseDir(options.dataDir), startParams: PGLITE_START_PARAMS },
      options.logger,
      { counts: options.restartCounts },
    );
    return await createSqlMetadataStore({ client, logger: options.logger, onClose: () => lock.release(), exclusive: true });
  } catch (error) {
    await client?.close();
    await lock.release();
    throw error;
  }
}
