import { DependencyUnavailableError, isDomainError } from '../../domain/errors.js';
import type { EmbeddingModelInfo } from '../../ports/embedder.js';
import type { Logger } from '../../ports/logger.js';
import type { ApiKeyRepository, MetadataStore } from '../../ports/metadata-store.js';
import { SqlApiKeyRepository } from './api-key-repository.js';
import { SqlMemoryRepository } from './memory-repository.js';
import { runMigrations } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { bindEmbeddingModel, boundEmbeddingModel } from './model-binding.js';
import { storeIdentity } from './store-identity.js';
import type { KeyChanges } from './key-changes.js';
import { RememberedApiKeys } from './remembered-api-keys.js';
import { RowScope } from './row-scope.js';
import type { SqlClient } from './sql-client.js';
import { keepTablesFit } from './table-upkeep.js';
import { SqlTaskRepository } from './task-repository.js';

export interface SqlMetadataStoreOptions {
  readonly client: SqlClient;
  readonly logger: Logger;
  /** Runs once the store is closed, after the client: e.g. releasing a data folder lock. Default: nothing. */
  readonly onClose?: () => Promise<void>;
  /**
   * No other process can write this database (PGlite, whose folder this process holds locked), so
   * what it read of keys stays true until it changes them itself. Default false.
   */
  readonly exclusive?: boolean;
  /**
   * On a database other processes write: what this process hears of their key changes, so that it
   * can remember keys too (see RememberedApiKeys). Closed with the store. Default: keys are read for
   * every request.
   */
  readonly keyChanges?: KeyChanges;
}

/** Memories without a vector sketch that one upkeep pass sketches (see fillSketches). */
const SKETCHES_PER_UPKEEP = 1_000;

/** The metadata store over any SqlClient: PostgreSQL and PGlite differ only in the client. */
export async function createSqlMetadataStore(options: SqlMetadataStoreOptions): Promise<MetadataStore> {
  const { client, logger } = options;
  const scope = new RowScope(client);
  await scope.refresh();
  let closing: Promise<void> | null = null;
  const memories = new SqlMemoryRepository(scope);

  return {
    tasks: new SqlTaskRepository(scope),
    memories,
    apiKeys: apiKeysOf(client, options),
    async migrate() {
      await runMigrations(client.unhurried, MIGRATIONS, logger);
      await scope.refresh();
    },
    bindModel(model: EmbeddingModelInfo) {
      return bindEmbeddingModel(client, model);
    },
    boundModel() {
      return boundEmbeddingModel(client);
    },
    identity() {
      return storeIdentity(client);
    },
    async keepFit() {
      const tables = await keepTablesFit(client.unhurried);
      // One index probe when none lacks a sketch.
      await memories.fillSketches(SKETCHES_PER_UPKEEP);
      return tables;
    },
    async ping() {
      try {
        await client.query('SELECT 1');
      } catch (error) {
        throw isDomainError(error) ? error : new DependencyUnavailableError('postgres', error);
      }
    },
    close() {
      closing ??= (async () => {
        await options.keyChanges?.close();
        await client.close();
        await options.onClose?.();
      })();
      return closing;
    },
  };
}

function apiKeysOf(client: SqlClient, options: SqlMetadataStoreOptions): ApiKeyRepository {
  const keys = new SqlApiKeyRepository(client);
  if (options.exclusive === true) return new RememberedApiKeys(keys);
  return options.keyChanges === undefined ? keys : new RememberedApiKeys(keys, options.keyChanges);
}
