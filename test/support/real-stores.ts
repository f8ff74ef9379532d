import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChromaVectorStore, type ChromaVectorStoreOptions } from '../../src/adapters/chroma/chroma-vector-store.js';
import { createUseLiteEmbedder } from '../../src/adapters/embedding/use-lite-embedder.js';
import { createPgliteMetadataStore } from '../../src/adapters/pglite/pglite-metadata-store.js';
import type { Embedder } from '../../src/ports/embedder.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import type { VectorStore } from '../../src/ports/vector-store.js';
import { WriteProcessor, type WriteProcessorDeps } from '../../src/services/process-writes.js';
import { startTestChroma } from './chroma-server.js';
import { silentLogger } from './logger.js';

/** The stores a service runs on, each real and the test's own: embedded Postgres, a Chroma server, the bundled model. */
export interface RealStores {
  readonly metadata: MetadataStore;
  readonly vectors: VectorStore;
  readonly embedder: Embedder;
  close(): Promise<void>;
}

/** Opens them bound to the model, in a folder of their own that `close` removes. */
export async function openRealStores(folderPrefix: string, vectorOptions: Pick<ChromaVectorStoreOptions, 'promoteAbove' | 'promotionGraceMs'> = {}): Promise<RealStores> {
  const logger = silentLogger();
  const folder = await mkdtemp(join(tmpdir(), folderPrefix));
  const chroma = await startTestChroma();
  const embedder = await createUseLiteEmbedder({ logger });
  const metadata = await createPgliteMetadataStore({ dataDir: folder, logger });
  await metadata.migrate();
  await metadata.bindModel(embedder.model);
  const vectors = await createChromaVectorStore({ url: chroma.url, logger, ...vectorOptions });
  await vectors.bindModel(embedder.model);
  return {
    metadata,
    vectors,
    embedder,
    async close() {
      await vectors.close();
      await metadata.close();
      await embedder.close();
      await chroma.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/**
 * The worker's processor over the stores, with a lease no test outlasts unless `parts` replace it
 * or another part (a vector store with a held step, a model that dies).
 */
export function writeProcessorOver(stores: RealStores, parts: Partial<WriteProcessorDeps> = {}): WriteProcessor {
  return new WriteProcessor({
    tasks: stores.metadata.tasks,
    memories: stores.metadata.memories,
    vectorStore: stores.vectors,
    embedder: stores.embedder,
    logger: silentLogger(),
    leaseMs: 30_000,
    ...parts,
  });
}
