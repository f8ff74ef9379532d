import { createBullmqJobQueue } from '../adapters/bullmq/bullmq-job-queue.js';
import { superviseChroma } from '../adapters/chroma/supervised-chroma.js';
import { createChromaVectorStore } from '../adapters/chroma/chroma-vector-store.js';
import { createOpenAiEmbedder } from '../adapters/embedding/openai-embedder.js';
import { withQueryCache } from '../adapters/embedding/query-cache.js';
import { createUseLiteEmbedder, type UseLiteEmbedderOptions } from '../adapters/embedding/use-lite-embedder.js';
import { createInProcessJobQueue } from '../adapters/in-process-queue/in-process-job-queue.js';
import { createPgliteMetadataStore } from '../adapters/pglite/pglite-metadata-store.js';
import { createPostgresMetadataStore } from '../adapters/postgres/postgres-metadata-store.js';
import { createThreadedRedactor, type ThreadedRedactor } from '../adapters/redaction/threaded-redactor.js';
import type { EmbedderConfig, EngramConfig } from '../config/config.js';
import type { Embedder } from '../ports/embedder.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { MetadataStore } from '../ports/metadata-store.js';
import type { RestartCounts } from '../ports/restart-counts.js';
import type { VectorStore } from '../ports/vector-store.js';
import type { Resources } from './resources.js';

type UseLiteEmbedderConfig = Extract<EmbedderConfig, { kind: 'use-lite' }>;

/**
 * What a process runs and starts again by itself: embedded, its Chroma child and its database's
 * thread; in any mode, the bundled model's threads.
 */
export type SupervisedDependency = 'chroma' | 'postgres' | 'embedder';

/** The counts of one supervised dependency's restarts, where this process publishes metrics. */
export type RestartCountsOf = (dependency: SupervisedDependency) => RestartCounts | undefined;

/** For a process that publishes no metrics (the admin commands). */
const noCounts: RestartCountsOf = () => undefined;

/** PostgreSQL when DATABASE_URL is set, else the embedded PGlite in the data folder (held by one process). */
export async function openMetadataStore(
  config: EngramConfig,
  logger: Logger,
  resources: Resources,
  restartCountsOf: RestartCountsOf = noCounts,
): Promise<MetadataStore> {
  const store =
    config.database.kind === 'postgres'
      ? await createPostgresMetadataStore({
          url: config.database.url,
          poolSize: config.database.poolSize,
          statementTimeoutMs: config.database.statementTimeoutMs,
          logger,
        })
      : await createPgliteMetadataStore({ dataDir: config.dataDir, logger, restartCounts: restartCountsOf('postgres') });
  return resources.add('metadata store', store, (opened) => opened.close());
}

/**
 * The nice value of embedded mode's Chroma. Most of its CPU goes to writes (an upsert costs it
 * 11-12 ms however small), which then yield to the API's thread; its queries are short, and a
 * search waits on them, so it stays above the embedding of writes (BACKGROUND_NICENESS).
 */
const EMBEDDED_CHROMA_NICENESS = 5;

/** The Chroma server at CHROMA_URL, else a Chroma child process on 127.0.0.1 with its data in the data folder. */
export async function openVectorStore(
  config: EngramConfig,
  logger: Logger,
  resources: Resources,
  restartCountsOf: RestartCountsOf = noCounts,
): Promise<VectorStore> {
  let url: string;
  if (config.vectorStore.kind === 'chroma') {
    url = config.vectorStore.url;
  } else {
    const child = await superviseChroma(
      { dataDir: config.dataDir, logger, niceness: EMBEDDED_CHROMA_NICENESS },
      { counts: restartCountsOf('chroma') },
    );
    resources.add('chroma process', child, (started) => started.stop());
    url = child.url;
  }
  const store = await createChromaVectorStore({ url, logger, requestTimeoutMs: config.vectorStore.requestTimeoutMs });
  return resources.add('vector store', store, (opened) => opened.close());
}

/**
 * The write queue. On Redis it is named after the metadata store's id: the processes of one
 * deployment meet in it, and two deployments sharing a Redis database never take each other's jobs.
 */
export function openQueue(config: EngramConfig, logger: Logger, resources: Resources, storeId: string): JobQueue {
  const queue =
    config.queue.kind === 'redis'
      ? createBullmqJobQueue({ redisUrl: config.queue.url, queueName: `engram-writes-${storeId}`, logger })
      : createInProcessJobQueue({ logger });
  return resources.add('queue', queue, (opened) => opened.close());
}

/**
 * The embedder of this process's first role: the worker's writes when it runs the worker, whose
 * model threads then yield the CPU to the API and the stores (see BACKGROUND_NICENESS); else the
 * API's searches.
 */
export async function openEmbedder(
  config: EngramConfig,
  logger: Logger,
  resources: Resources,
  forWrites: boolean,
  restartCountsOf: RestartCountsOf = noCounts,
): Promise<Embedder> {
  const embedder =
    config.embedder.kind === 'use-lite'
      ? await createUseLiteEmbedder(useLiteOptions(config.embedder, logger, forWrites, restartCountsOf))
      : await createOpenAiEmbedder({
          url: config.embedder.url,
          model: config.embedder.model,
          maxTextChars: config.embedder.maxTextChars,
          logger,
          ...(config.embedder.apiKey === null ? {} : { apiKey: config.embedder.apiKey }),
        });
  return resources.add('embedder', embedder, (opened) => opened.close());
}

/**
 * The embedder of search queries. When this process also runs the worker, the bundled model gets
 * a second copy for queries (about 30 MB; on the thread serving the API unless
 * ENGRAM_QUERY_EMBED_THREADS says otherwise), so a query never waits behind a batch of writes.
 */
export async function openQueryEmbedder(
  config: EngramConfig,
  logger: Logger,
  resources: Resources,
  shared: Embedder,
  alsoWorker: boolean,
  restartCountsOf: RestartCountsOf = noCounts,
): Promise<Embedder> {
  if (config.embedder.kind !== 'use-lite' || !alsoWorker) return queryEmbedderOf(shared);
  const own = await createUseLiteEmbedder(useLiteOptions(config.embedder, logger, false, restartCountsOf));
  return queryEmbedderOf(resources.add('query embedder', own, (opened) => opened.close()));
}

/**
 * The bundled model as writes or search queries use it: writes' batches in worker threads that
 * yield the CPU; queries on their own threads (none by default: the API's), sent at once.
 */
function useLiteOptions(
  embedder: UseLiteEmbedderConfig,
  logger: Logger,
  forWrites: boolean,
  restartCountsOf: RestartCountsOf,
): UseLiteEmbedderOptions {
  return {
    logger,
    threads: forWrites ? embedder.threads : embedder.queryThreads,
    runtime: embedder.runtime,
    background: forWrites,
    dispatchWhenIdle: !forWrites,
    supervision: { counts: restartCountsOf('embedder') },
  };
}

/** Search queries repeat: they go through a cache in front of the model. */
export function queryEmbedderOf(embedder: Embedder): Embedder {
  return withQueryCache(embedder, { maxEntries: 10_000 });
}

/** The accept path's redactor: long texts on a thread of their own; null when ENGRAM_PII=off. */
export function openAcceptRedactor(config: EngramConfig, logger: Logger): ThreadedRedactor | null {
  return config.pii.mode === 'off' ? null : createThreadedRedactor({ entities: config.pii.entities, logger });
}
