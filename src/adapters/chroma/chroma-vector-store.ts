import { EmbeddingModelMismatchError } from '../../domain/errors.js';
import type { EmbeddingModelInfo } from '../../ports/embedder.js';
import type { Logger } from '../../ports/logger.js';
import type { VectorMatch, VectorQuery, VectorRecord, VectorStore } from '../../ports/vector-store.js';
import { ChromaHttp } from './chroma-http.js';
import { MODEL_MARKER_COLLECTION, userCollectionName } from './collection-name.js';
import { VectorStoreError } from './errors.js';
import { LruMap } from './lru-map.js';
import { TENANT_ID_KEY, USER_ID_KEY } from './record-metadata.js';
import { parseCollection, parseIds, parseQueryAnswer, type CollectionInfo } from './responses.js';
import { encodeUpsertBody } from './upsert-body.js';
import { whereForScope } from './where-clause.js';

export interface ChromaVectorStoreOptions {
  /**
   * Base URL of the Chroma server, e.g. `http://127.0.0.1:8000`. Chroma has no authentication of
   * its own here: it must only be reachable on loopback or a private network.
   */
  readonly url: string;
  readonly logger: Logger;
  /** How many user collections' ids are remembered, so that a hot path makes one request. Default 10,000. */
  readonly collectionCacheSize?: number;
  /** Time allowed for one request before Chroma counts as unavailable. Default 10,000 ms. */
  readonly requestTimeoutMs?: number;
}

/** Every collection lives in Chroma's default tenant and database; Engram's tenants are collections. */
const COLLECTIONS_PATH = '/tenants/default_tenant/databases/default_database/collections';
/** Well below Chroma's own batch limit (5,461 in 1.0), and a request of a few megabytes at most. */
const RECORDS_PER_REQUEST = 1_000;
const IDS_PER_PAGE = 1_000;
/** User collections written at the same time by one upsert: enough to hide latency, few enough to share the server. */
const PARALLEL_COLLECTION_WRITES = 4;
const COLLECTION_CONFIGURATION = { hnsw: { space: 'cosine' } } as const;

const MODEL_ID_KEY = 'engram_model_id';
const MODEL_DIMENSIONS_KEY = 'engram_model_dimensions';

type Access = 'read' | 'write';

/**
 * The vector store on a Chroma server, with one collection per (tenant, user): a query never needs
 * a filter on its owner, another tenant's vectors are out of reach by construction, and erasing a
 * user drops one collection. Numbers are stored as floats and vectors compared by cosine.
 */
export class ChromaVectorStore implements VectorStore {
  readonly #http: ChromaHttp;
  readonly #logger: Logger;
  /** Collection name → Chroma's id for it. */
  readonly #collectionIds: LruMap<string, string>;
  #model: EmbeddingModelInfo | null = null;

  constructor(options: ChromaVectorStoreOptions) {
    this.#http = new ChromaHttp({ url: options.url, requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.#logger = options.logger.child({ component: 'chroma-vector-store' });
    this.#collectionIds = new LruMap(options.collectionCacheSize ?? 10_000);
  }

  async bindModel(model: EmbeddingModelInfo): Promise<void> {
    // get_or_create keeps the metadata of the first creator, so concurrent first starts agree.
    const marker = parseCollection(
      await this.#http.send({
        method: 'POST',
        path: COLLECTIONS_PATH,
        body: { name: MODEL_MARKER_COLLECTION, get_or_create: true, metadata: modelMetadata(model) },
      }),
    );
    assertSameModel(marker, model);
    this.#model = model;
  }

  async upsert(records: readonly VectorRecord[]): Promise<void> {
    const groups = [...groupByCollection(records).values()];
    await forEachLimited(groups, PARALLEL_COLLECTION_WRITES, async (group) => {
      for (let start = 0; start < group.records.length; start += RECORDS_PER_REQUEST) {
        const body = encodeUpsertBody(group.records.slice(start, start + RECORDS_PER_REQUEST));
        const written = await this.#withCollection(group.tenantId, group.userId, 'write', (path) =>
          this.#http.sendUnlessMissing({ method: 'POST', path: `${path}/upsert`, body }),
        );
        if (written === null) {
          throw new VectorStoreError('the collection was dropped while it was written; try again', {
            status: 404,
            retryable: true,
          });
        }
      }
    });
  }

  async query({ scope, embedding, topK }: VectorQuery): Promise<VectorMatch[]> {
    const where = whereForScope(scope);
    if (where === 'none' || topK < 1) return [];
    const body = {
      query_embeddings: [Array.from(embedding)],
      n_results: Math.floor(topK),
      include: ['distances'],
      ...(where === null ? {} : { where }),
    };
    const answer = await this.#withCollection(scope.tenantId, scope.userId, 'read', (path) =>
      this.#http.sendUnlessMissing({ method: 'POST', path: `${path}/query`, body }),
    );
    if (answer === null) return [];
    const { ids, distances } = parseQueryAnswer(answer);
    return ids
      .map((id, index) => ({ id, score: 1 - (distances[index] ?? 2) }))
      .sort((left, right) => right.score - left.score);
  }

  async remove(tenantId: string, userId: string, ids: readonly string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += RECORDS_PER_REQUEST) {
      const body = { ids: ids.slice(start, start + RECORDS_PER_REQUEST) };
      const removed = await this.#withCollection(tenantId, userId, 'read', (path) =>
        this.#http.sendUnlessMissing({ method: 'POST', path: `${path}/delete`, body }),
      );
      if (removed === null) return;
    }
  }

  async removeUser(tenantId: string, userId: string): Promise<void> {
    const name = userCollectionName(tenantId, userId);
    this.#collectionIds.delete(name);
    await this.#http.sendUnlessMissing({ method: 'DELETE', path: `${COLLECTIONS_PATH}/${name}` });
    this.#collectionIds.delete(name);
  }

  async listIds(tenantId: string, userId: string): Promise<string[]> {
    const ids = await this.#withCollection(tenantId, userId, 'read', async (path) => {
      const found: string[] = [];
      for (;;) {
        const answer = await this.#http.sendUnlessMissing({
          method: 'POST',
          path: `${path}/get`,
          body: { include: [], limit: IDS_PER_PAGE, offset: found.length },
        });
        if (answer === null) return null;
        const page = parseIds(answer);
        found.push(...page);
        if (page.length < IDS_PER_PAGE) return found;
      }
    });
    return ids ?? [];
  }

  async ping(): Promise<void> {
    await this.#http.send({ method: 'GET', path: '/heartbeat' });
  }

  async close(): Promise<void> {
    this.#collectionIds.clear();
  }

  /**
   * Runs `act` on the user's collection path; `act` answers null when Chroma no longer knows the
   * collection. A cached id can be stale (another process erased the user), so it is looked up
   * once more. Null when the user has no collection (reads never create one).
   */
  async #withCollection<T>(
    tenantId: string,
    userId: string,
    access: Access,
    act: (path: string) => Promise<T | null>,
  ): Promise<T | null> {
    const name = userCollectionName(tenantId, userId);
    const cachedId = this.#collectionIds.get(name);
    if (cachedId !== undefined) {
      const result = await act(`${COLLECTIONS_PATH}/${cachedId}`);
      if (result !== null) return result;
      this.#collectionIds.delete(name);
      this.#logger.debug({ collection: name }, 'cached collection is gone, looking it up again');
    }
    const id = await this.#openCollection(name, tenantId, userId, access);
    if (id === null) return null;
    const result = await act(`${COLLECTIONS_PATH}/${id}`);
    if (result === null) this.#collectionIds.delete(name);
    return result;
  }

  async #openCollection(name: string, tenantId: string, userId: string, access: Access): Promise<string | null> {
    const answer =
      access === 'write'
        ? await this.#http.send({
            method: 'POST',
            path: COLLECTIONS_PATH,
            body: {
              name,
              get_or_create: true,
              configuration: COLLECTION_CONFIGURATION,
              metadata: { [TENANT_ID_KEY]: tenantId, [USER_ID_KEY]: userId, ...this.#boundModelMetadata() },
            },
          })
        : await this.#http.sendUnlessMissing({ method: 'GET', path: `${COLLECTIONS_PATH}/${name}` });
    if (answer === null) return null;
    const collection = parseCollection(answer);
    assertOwner(collection, name, tenantId, userId);
    if (this.#model !== null && collection.metadata[MODEL_ID_KEY] !== undefined) assertSameModel(collection, this.#model);
    this.#collectionIds.set(name, collection.id);
    return collection.id;
  }

  #boundModelMetadata(): Record<string, string | number> {
    return this.#model === null ? {} : modelMetadata(this.#model);
  }
}

/** A store on the Chroma server at `options.url`, once the server has answered a heartbeat. */
export async function createChromaVectorStore(options: ChromaVectorStoreOptions): Promise<VectorStore> {
  const store = new ChromaVectorStore(options);
  await store.ping();
  return store;
}

interface CollectionGroup {
  readonly tenantId: string;
  readonly userId: string;
  readonly records: VectorRecord[];
}

/** Records per user collection, each id once: the last record of an id wins, as a later write would. */
function groupByCollection(records: readonly VectorRecord[]): Map<string, CollectionGroup> {
  const latest = new Map<string, Map<string, VectorRecord>>();
  for (const record of records) {
    const name = userCollectionName(record.tenantId, record.userId);
    let byId = latest.get(name);
    if (byId === undefined) latest.set(name, (byId = new Map()));
    byId.delete(record.id);
    byId.set(record.id, record);
  }
  const groups = new Map<string, CollectionGroup>();
  for (const [name, byId] of latest) {
    const records = [...byId.values()];
    const first = records[0];
    if (first !== undefined) groups.set(name, { tenantId: first.tenantId, userId: first.userId, records });
  }
  return groups;
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function modelMetadata(model: EmbeddingModelInfo): Record<string, string | number> {
  return { [MODEL_ID_KEY]: model.id, [MODEL_DIMENSIONS_KEY]: model.dimensions };
}

function assertSameModel(collection: CollectionInfo, model: EmbeddingModelInfo): void {
  const storedId = collection.metadata[MODEL_ID_KEY];
  const storedDimensions = collection.metadata[MODEL_DIMENSIONS_KEY];
  if (storedId === model.id && storedDimensions === model.dimensions) return;
  const stored = `${String(storedId ?? 'unknown')} (${String(storedDimensions ?? '?')} dimensions)`;
  throw new EmbeddingModelMismatchError(stored, `${model.id} (${model.dimensions} dimensions)`);
}

/** A second guard behind the hashed name: a collection only ever serves the owner it was made for. */
function assertOwner(collection: CollectionInfo, name: string, tenantId: string, userId: string): void {
  const { [TENANT_ID_KEY]: storedTenant, [USER_ID_KEY]: storedUser } = collection.metadata;
  if (storedTenant === tenantId && storedUser === userId) return;
  throw new VectorStoreError(`collection ${name} belongs to another owner`, { details: { collection: name } });
}
