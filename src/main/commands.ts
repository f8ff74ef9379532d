import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { hasPgliteDatabase } from '../adapters/pglite/pglite-metadata-store.js';
import { createRedactor } from '../adapters/redaction/redactor.js';
import type { EngramConfig } from '../config/config.js';
import { DomainError, ValidationError } from '../domain/errors.js';
import type { Logger } from '../ports/logger.js';
import { ApiKeyService } from '../services/api-keys.js';
import { StoreReconciler, type DriftReport } from '../services/reconcile-stores.js';
import { openMetadataStore, openVectorStore } from './adapters.js';
import { startNode, type NodeRoles, type RunningNode } from './node.js';
import { Resources } from './resources.js';

export type Output = (line: string) => void;

/** Runs a long-lived node until SIGTERM or SIGINT, then drains and closes it. */
export async function runUntilSignalled(config: EngramConfig, roles: NodeRoles, logger: Logger): Promise<void> {
  // While starting there is nothing to drain: a signal ends the process at once, and its exit
  // stops what was started (the embedded Chroma) rather than leaving it behind.
  const whileStarting = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopped while starting');
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  process.once('SIGTERM', whileStarting);
  process.once('SIGINT', whileStarting);
  let node: RunningNode;
  try {
    node = await startNode(config, roles, logger);
  } finally {
    process.off('SIGTERM', whileStarting);
    process.off('SIGINT', whileStarting);
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      node.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  logger.info('stopped');
}

export async function migrate(config: EngramConfig, logger: Logger): Promise<void> {
  const resources = new Resources(logger);
  try {
    const store = await openMetadataStore(config, logger, resources);
    await store.migrate();
    logger.info('migrations applied');
  } finally {
    await resources.closeAll();
  }
}

/**
 * Commands that read the store refuse an embedded data folder without a database, rather than
 * make an empty one there and answer from it (a mistyped ENGRAM_DATA_DIR would list no keys).
 */
function requireStoredData(config: EngramConfig): void {
  if (config.database.kind === 'pglite' && !hasPgliteDatabase(config.dataDir)) {
    throw new DomainError(
      'not_found',
      'no_database',
      `no Engram database in ${config.dataDir}: run this where Engram keeps its data (ENGRAM_DATA_DIR) or set DATABASE_URL`,
    );
  }
}

async function withApiKeys<T>(
  config: EngramConfig,
  logger: Logger,
  use: (keys: ApiKeyService) => Promise<T>,
  { create = false }: { readonly create?: boolean } = {},
): Promise<T> {
  if (!create) requireStoredData(config);
  const resources = new Resources(logger);
  try {
    const store = await openMetadataStore(config, logger, resources);
    await store.migrate();
    return await use(new ApiKeyService(store.apiKeys));
  } finally {
    await resources.closeAll();
  }
}

export async function createKey(config: EngramConfig, logger: Logger, tenant: string, name: string | null, out: Output): Promise<void> {
  const created = await withApiKeys(config, logger, (keys) => keys.create(tenant, name), { create: true });
  out(`id:     ${created.record.id}`);
  out(`tenant: ${created.record.tenantId}`);
  out(`key:    ${created.key}`);
  out('Store the key now: it is shown only once.');
}

export async function listKeys(config: EngramConfig, logger: Logger, out: Output): Promise<void> {
  const records = await withApiKeys(config, logger, (keys) => keys.list());
  out(['id', 'tenant', 'name', 'created', 'last used', 'revoked'].join('\t'));
  for (const record of records) {
    out(
      [
        record.id,
        record.tenantId,
        record.name ?? '-',
        record.createdAt.toISOString(),
        record.lastUsedAt?.toISOString() ?? '-',
        record.revokedAt?.toISOString() ?? '-',
      ].join('\t'),
    );
  }
}

export async function revokeKey(config: EngramConfig, logger: Logger, id: string, out: Output): Promise<void> {
  const revoked = await withApiKeys(config, logger, (keys) => keys.revoke(id));
  if (!revoked) throw new ValidationError(`no active key with id ${id}`);
  out(`revoked ${id}`);
}

/**
 * Redacts stdin line by line with the accept path's redactor and entity types. It redacts also
 * when ENGRAM_PII=off, which only keeps the server from redacting: this command is asked to.
 */
export async function redactStdin(config: EngramConfig, json: boolean, out: Output): Promise<void> {
  const redactor = createRedactor({ entities: config.pii.entities });
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const redaction = redactor.redact(line);
    out(json ? JSON.stringify({ text: redaction.text, entities: redaction.entities }) : redaction.text);
  }
}

function printDrift(report: DriftReport, out: Output): void {
  out(`users checked:   ${report.ownersChecked}`);
  out(`missing vectors: ${report.missingVectors}`);
  out(`orphan vectors:  ${report.orphanVectors}`);
  out(`stuck tasks:     ${report.stuckTasks}`);
  for (const drift of report.drifts) {
    out(`  tenant ${drift.tenantId} user ${drift.userId}:`);
    if (drift.missingVectors.length > 0) out(`    missing: ${drift.missingVectors.join(' ')}`);
    if (drift.orphanVectors.length > 0) out(`    orphans: ${drift.orphanVectors.join(' ')}`);
  }
}

/** Writes pending far past recovery's delay: no worker drives them, which `doctor` cannot repair. */
function failOnStuckWrites(report: DriftReport): void {
  if (report.stuckTasks === 0) return;
  throw new DomainError('conflict', 'writes_stuck', `${report.stuckTasks} accepted writes wait far longer than recovery allows; is a worker running?`);
}

/**
 * Compares the memories in Postgres with the vectors in Chroma, user by user, and with `fix`
 * repairs what differs. Fails (exit 1) when drift is found and not repaired, or writes are stuck,
 * so scripts notice.
 */
export async function doctor(config: EngramConfig, logger: Logger, fix: boolean, json: boolean, out: Output): Promise<void> {
  requireStoredData(config);
  const resources = new Resources(logger);
  try {
    const metadata = await openMetadataStore(config, logger, resources);
    await metadata.migrate();
    const vectorStore = await openVectorStore(config, logger, resources);
    // Binding takes the layout the store recorded (its bucket count, how vectors are written): the
    // defaults of this version are not those of a store set up by an earlier one.
    const model = await metadata.boundModel();
    if (model !== null) {
      await vectorStore.bindModel(model);
      // Repairs remove vectors this database does not hold: never those of another's.
      await vectorStore.bindStore(await metadata.identity());
    }
    const reconciler = new StoreReconciler({
      memories: metadata.memories,
      vectorStore,
      tasks: metadata.tasks,
      logger,
      // Twice the recovery delay: recovery should have driven a task again by then.
      stuckAfterMs: Math.max(60_000, config.worker.recoverAfterMs * 2),
    });
    if (fix) {
      const report = await reconciler.repair();
      if (json) out(JSON.stringify(report));
      else {
        printDrift(report, out);
        out(`repaired: ${report.restored} vectors restored, ${report.removed} orphans removed`);
      }
      failOnStuckWrites(report);
      return;
    }
    const report = await reconciler.inspect();
    if (json) out(JSON.stringify(report));
    else printDrift(report, out);
    if (report.drifts.length > 0) {
      throw new DomainError('conflict', 'stores_drifted', 'the stores disagree; run `engram doctor --fix` to repair them');
    }
    failOnStuckWrites(report);
  } finally {
    await resources.closeAll();
  }
}
