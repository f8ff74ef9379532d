import type { Logger } from '../../ports/logger.js';
import type { ChromaHttp } from './chroma-http.js';
import { LruMap } from '../lru-map.js';
import { parseCollection, type CollectionInfo } from './responses.js';

/** Every collection lives in Chroma's default tenant and database; Engram's tenants are owner keys. */
export const COLLECTIONS_PATH = '/tenants/default_tenant/databases/default_database/collections';

/** The endpoints of a collection that take a POST. */
export type CollectionEndpoint = 'add' | 'upsert' | 'query' | 'get' | 'delete';

/** What a collection is made with the first time it is written. */
export interface CollectionSpec {
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  readonly configuration?: Readonly<Record<string, unknown>>;
  /** Throws when an existing collection of this name must not be used (another owner, another model). */
  readonly check?: (collection: CollectionInfo) => void;
}

/**
 * Chroma collections by name, with their ids cached so that a hot path makes one request. A
 * cached id can be stale (another process dropped the collection), so a 404 looks the name up
 * once more before it counts as "no collection".
 */
export class Collections {
  readonly #http: ChromaHttp;
  readonly #logger: Logger;
  /** Collection name → Chroma's id for it. */
  readonly #ids: LruMap<string, string>;

  constructor(http: ChromaHttp, logger: Logger, cacheSize: number) {
    this.#http = http;
    this.#logger = logger;
    this.#ids = new LruMap(cacheSize);
  }

  /**
   * Runs `act` on the collection's path; `act` answers null when Chroma no longer knows the
   * collection. With `create` the collection is made when missing; without, the answer is null
   * when there is none (reads never create one).
   */
  async run<T>(
    name: string,
    spec: CollectionSpec,
    create: boolean,
    act: (path: string) => Promise<T | null>,
  ): Promise<T | null> {
    const cachedId = this.#ids.get(name);
    if (cachedId !== undefined) {
      const result = await act(`${COLLECTIONS_PATH}/${cachedId}`);
      if (result !== null) return result;
      this.#ids.delete(name);
      this.#logger.debug({ collection: name }, 'cached collection is gone, looking it up again');
    }
    const id = await this.#open(name, spec, create);
    if (id === null) return null;
    const result = await act(`${COLLECTIONS_PATH}/${id}`);
    if (result === null) this.#ids.delete(name);
    return result;
  }

  /** Posts `body` to one of the collection's endpoints and answers Chroma's reply, or null as `run` does. */
  post(name: string, spec: CollectionSpec, create: boolean, endpoint: CollectionEndpoint, body: unknown): Promise<unknown> {
    return this.run(name, spec, create, (path) =>
      this.#http.sendUnlessMissing({ method: 'POST', path: `${path}/${endpoint}`, body }),
    );
  }

  /** The collection, created if missing; get_or_create keeps the first creator's metadata. */
  async ensure(name: string, spec: CollectionSpec): Promise<CollectionInfo> {
    const collection = parseCollection(
      await this.#http.send({
        method: 'POST',
        path: COLLECTIONS_PATH,
        body: {
          name,
          get_or_create: true,
          metadata: spec.metadata,
          ...(spec.configuration === undefined ? {} : { configuration: spec.configuration }),
        },
      }),
    );
    spec.check?.(collection);
    this.#ids.set(name, collection.id);
    return collection;
  }

  /** Replaces a collection's metadata whole (Chroma keeps none of the old). */
  async replaceMetadata(collection: CollectionInfo, metadata: CollectionSpec['metadata']): Promise<void> {
    await this.#http.send({ method: 'PUT', path: `${COLLECTIONS_PATH}/${collection.id}`, body: { new_metadata: metadata } });
  }

  async drop(name: string): Promise<void> {
    this.#ids.delete(name);
    await this.#http.sendUnlessMissing({ method: 'DELETE', path: `${COLLECTIONS_PATH}/${name}` });
    this.#ids.delete(name);
  }

  forget(): void {
    this.#ids.clear();
  }

  async #open(name: string, spec: CollectionSpec, create: boolean): Promise<string | null> {
    if (create) return (await this.ensure(name, spec)).id;
    const answer = await this.#http.sendUnlessMissing({ method: 'GET', path: `${COLLECTIONS_PATH}/${name}` });
    if (answer === null) return null;
    const collection = parseCollection(answer);
    spec.check?.(collection);
    this.#ids.set(name, collection.id);
    return collection.id;
  }
}
