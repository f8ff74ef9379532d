import { availableParallelism } from 'node:os';
import { buildApp } from '../api/app.js';
import { Metrics } from '../api/metrics.js';
import type { EngramConfig } from '../config/config.js';
import type { Logger } from '../ports/logger.js';
import { WriteAcceptor } from '../services/accept-writes.js';
import { ApiKeyService, GUESSABLE_BELOW_CHARS, isGuessableKey } from '../services/api-keys.js';
import { MemoryEraser } from '../services/forget-memories.js';
import { HealthCheck } from '../services/health.js';
import { WriteProcessor } from '../services/process-writes.js';
import { MemoryReader } from '../services/read-memories.js';
import { WriteRecovery } from '../services/recover-writes.js';
import { ConcurrencyGate } from '../services/concurrency-gate.js';
import { MemorySearch } from '../services/search-memories.js';
import { StoreReconciler } from '../services/reconcile-stores.js';
import { TaskRetention } from '../services/task-retention.js';
import { WriteBacklog } from '../services/write-backlog.js';
import { PeriodicRun } from '../support/periodic-run.js';
import { WriteWorker } from '../worker/write-worker.js';
import {
  openEmbedder,
  openMetadataStore,
  openQueryEmbedder,
  openQueue,
  openAcceptRedactor,
  openVectorStore,
  type RestartCountsOf,
} from './adapters.js';
import { Resources } from './resources.js';

/**
 * How often a worker looks whether the metadata tables need fresh statistics or a vacuum. The look
 * itself is two catalogue reads; the work is done only when a table has grown (see keepTablesFit),
 * so the period sets how soon a growing store gets statistics, not how much upkeep it gets. Fresh
 * statistics also replace the plans of prepared statements made while a table was still small:
 * LoCoMo searches right after loading ran at p50 30 ms with 30 s, 16 ms with 5 s.
 */
const TABLE_UPKEEP_INTERVAL_MS = 5_000;
/** How often a worker forgets finished tasks past their retention (see TaskRetention). */
const TASK_RETENTION_INTERVAL_MS = 60_000;

/**
 * Searches in progress at once in a process on the embedded database: two per core, and one more.
 * There a search passes through the HTTP thread, the query encoder's thread, the database's one
 * thread and Chroma in turn; more of them at once only interleave on the same cores, and each
 * takes longer. 100k memories of 1,000 users, 8 clients on 2 cores (15 s rounds alternating in one
 * process): search p95 57.9-72.3 ms without a limit (7 rounds), 56.5-59.4 ms with 5 (5 rounds),
 * at the same throughput. A Postgres server runs statements side by side: with it (distributed)
 * the same limit cost throughput, 185-200 against 199-230 searches/s, and p95 53.1-57.6 against
 * 49.9-55.4 ms (4 rounds each), so there searches are not held.
 */
const SEARCHES_IN_PROGRESS = availableParallelism() * 2 + 1;

export interface NodeRoles {
  /** Serve the HTTP API. */
  readonly api: boolean;
  /** Process write jobs and run recovery. */
  readonly worker: boolean;
}

export interface RunningNode {
  /** Where the API listens, when it does. */
  readonly url: string | null;
  /** Stops taking requests and jobs, finishes what is in flight, closes every store. Safe twice. */
  close(): Promise<void>;
}

/**
 * The composition root shared by `engram start`, `serve` and `worker`: builds the adapters the
 * configuration asks for, hands each service only what it uses, and starts the chosen roles.
 */
export async function startNode(config: EngramConfig, roles: NodeRoles, logger: Logger): Promise<RunningNode> {
  const resources = new Resources(logger);
  // Made when this process serves the API, which publishes them; restarts count from the start.
  const metrics = roles.api ? new Metrics() : null;
  const restartCountsOf: RestartCountsOf = (dependency) => metrics?.restartCountsOf(dependency);
  try {
    const metadata = await openMetadataStore(config, logger, resources, restartCountsOf);
    await metadata.migrate();
    const embedder = await openEmbedder(config, logger, resources, roles.worker, restartCountsOf);
    const vectorStore = await openVectorStore(config, logger, resources, restartCountsOf);
    await metadata.bindModel(embedder.model);
    await vectorStore.bindModel(embedder.model);
    const storeId = await metadata.identity();
    await vectorStore.bindStore(storeId);
    const queue = openQueue(config, logger, resources, storeId);

    if (roles.worker) {
      const worker = new WriteWorker({
        queue,
        processor: new WriteProcessor({
          tasks: metadata.tasks,
          memories: metadata.memories,
          vectorStore,
          embedder,
          logger,
          leaseMs: config.worker.recoverAfterMs,
        }),
        recovery: new WriteRecovery({ tasks: metadata.tasks, queue, logger, recoverAfterMs: config.worker.recoverAfterMs }),
        logger,
        concurrency: config.worker.concurrency,
      });
      resources.add('worker', worker, (started) => started.close());
      // In-process queues start empty: every pending write of an earlier run is driven again now.
      await worker.start({ recoverPendingNow: config.queue.kind === 'in-process' });
      if (config.worker.reconcileIntervalMs > 0) {
        const reconciler = new StoreReconciler({ memories: metadata.memories, vectorStore, tasks: metadata.tasks, logger });
        startPass(resources, {
          name: 'reconcile stores',
          run: async () => {
            const report = await reconciler.repair();
            return { owners: report.ownersChecked, restored: report.restored, removed: report.removed, stuckTasks: report.stuckTasks };
          },
          logger,
          intervalMs: config.worker.reconcileIntervalMs,
        });
      }
      if (config.worker.taskRetentionMs > 0) {
        const retention = new TaskRetention({ tasks: metadata.tasks, retentionMs: config.worker.taskRetentionMs });
        startPass(resources, {
          name: 'forget finished tasks',
          run: async () => ({ forgotten: await retention.forgetExpired() }),
          logger,
          intervalMs: TASK_RETENTION_INTERVAL_MS,
        });
      }
      startPass(resources, {
        name: 'table upkeep',
        run: async () => ({ tables: await metadata.keepFit() }),
        logger,
        intervalMs: TABLE_UPKEEP_INTERVAL_MS,
      });
    }

    let url: string | null = null;
    if (metrics !== null /* the API's role */) {
      const apiKeys = new ApiKeyService(metadata.apiKeys);
      if (config.bootstrapApiKey !== null) {
        await apiKeys.ensureBootstrapKey(config.bootstrapApiKey);
        if (isGuessableKey(config.bootstrapApiKey)) {
          logger.warn(
            `ENGRAM_API_KEY is shorter than ${GUESSABLE_BELOW_CHARS} characters: anyone with a copy of the database could find it by trying; use a long random key`,
          );
        }
      }
      const redactor = openAcceptRedactor(config, logger);
      if (redactor !== null) resources.add('redaction thread', redactor, (started) => started.close());
      const writes = new WriteAcceptor({
        tasks: metadata.tasks,
        queue,
        redactor,
        logger,
        backlog: new WriteBacklog({ tasks: metadata.tasks, maxPending: config.http.maxPendingWrites }),
      });
      // Closed after the HTTP server, before the queue: the last wake-ups reach it.
      resources.add('write acceptor', writes, (acceptor) => acceptor.settle());
      const app = await buildApp(
        {
          apiKeys,
          writes,
          search: new MemorySearch({
            memories: metadata.memories,
            vectorStore,
            embedder: await openQueryEmbedder(config, logger, resources, embedder, roles.worker, restartCountsOf),
            ...(config.database.kind === 'pglite' ? { admission: new ConcurrencyGate(SEARCHES_IN_PROGRESS) } : {}),
          }),
          reader: new MemoryReader({ memories: metadata.memories, tasks: metadata.tasks }),
          eraser: new MemoryEraser({ memories: metadata.memories, vectorStore, logger }),
          health: new HealthCheck([
            { name: 'postgres', ping: () => metadata.ping() },
            { name: 'chroma', ping: () => vectorStore.ping() },
            { name: config.queue.kind === 'redis' ? 'redis' : 'queue', ping: () => queue.ping() },
          ]),
          metrics,
          logger,
        },
        config.http,
      );
      resources.add('http server', app, (started) => started.close());
      url = await app.listen({ host: config.http.host, port: config.http.port });
      logger.info({ address: url }, 'engram is listening');
    }
    return { url, close: () => resources.closeAll() };
  } catch (error) {
    await resources.closeAll();
    throw error;
  }
}

interface UpkeepPass {
  /** Names the pass in logs. */
  readonly name: string;
  /** One pass; what it resolves to is logged at debug level. */
  readonly run: () => Promise<Readonly<Record<string, unknown>>>;
  readonly logger: Logger;
  /** Time from the end of one pass to the start of the next. */
  readonly intervalMs: number;
}

/** Runs a pass of background upkeep now and then until the node closes, logging each. */
function startPass(resources: Resources, { name, run, logger, intervalMs }: UpkeepPass): void {
  const pass = new PeriodicRun({
    intervalMs,
    run,
    onDone: (report) => logger.debug({ pass: name, ...report }, 'background pass done'),
    onFailed: (error) => logger.warn({ pass: name, err: error }, 'background pass failed; will try again'),
  });
  resources.add(name, pass, (started) => started.stop()).start();
}
