import {
  bucketOfRecord,
  bucketRecordId,
  bucketStateMetadata,
  FIRST_GENERATION,
  registryRecordKind,
  removalsMetadata,
  removalsRecordId,
  toBucketRemovals,
  toBucketState,
  type BucketRemovals,
  type BucketState,
} from './bucket-generations.js';
import { ROUTES_COLLECTION } from './collection-name.js';
import type { Collections, CollectionSpec } from './collections.js';
import { TENANT_ID_KEY, USER_ID_KEY } from './record-metadata.js';
import { parseGetAnswer } from './responses.js';
import { encodeStoredRecords } from './upsert-body.js';

/**
 * Where one owner's vectors are:
 * - `bucket`: in a shared bucket collection, found with a `where` on the owner key;
 * - `migrating`: being copied to a dedicated collection; the bucket is still complete;
 * - `dedicated`: in a collection of their own. Until `cleared`, writes also go to the bucket, so
 *   a process whose routing table is not yet refreshed still reads complete results there.
 */
export type Route =
  | { readonly kind: 'bucket' }
  | { readonly kind: 'migrating'; readonly since: number }
  | { readonly kind: 'dedicated'; readonly since: number; readonly cleared: boolean };

export interface OwnerRoutesOptions {
  /** A routing table older than this is refreshed in the background on its next use. */
  readonly refreshMs: number;
}

const BUCKET: Route = { kind: 'bucket' };
const PAGE = 1_000;
/**
 * A refresh's pages overlap by this many routes: each route removed while the table is read (an
 * erasure) shifts the routes after it back by one, and one would fall between two pages.
 */
const PAGE_OVERLAP = 100;
const STATE_KEY = 'state';
const SINCE_KEY = 'since';
const CLEARED_KEY = 'cleared';
/** Registry records need a vector; one fixed dimension is enough, it is never searched. */
const PLACEHOLDER_EMBEDDING = new Float32Array([1]);
const ROUTES_SPEC: CollectionSpec = { metadata: { engram_role: 'routes' } };

/** Routes and bucket states read fresh from the registry (see OwnerRoutes.confirmAll). */
export interface ConfirmedRoutes {
  readonly owners: ReadonlyMap<string, Route>;
  readonly buckets: ReadonlyMap<string, BucketState>;
}

/**
 * The routing table: one record per owner that left the buckets, and one per bucket that was ever
 * rebuilt or had records removed (see BucketState), in a Chroma collection so that every process
 * reads the same table. Each process keeps a copy that it refreshes every
 * `refreshMs`; writers confirm the routes they used right after writing (see ChromaVectorStore),
 * so a stale copy can delay a route change for readers but never lose a write.
 */
export class OwnerRoutes {
  readonly #collections: Collections;
  readonly #refreshMs: number;
  #table = new Map<string, Route>();
  #buckets = new Map<string, BucketState>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | null = null;

  constructor(collections: Collections, options: OwnerRoutesOptions) {
    this.#collections = collections;
    this.#refreshMs = options.refreshMs;
  }

  /** The route from this process's copy; waits for a refresh only when the copy is very old. */
  async lookup(owner: string): Promise<Route> {
    await this.#freshEnough();
    return this.#table.get(owner) ?? BUCKET;
  }

  async #freshEnough(): Promise<void> {
    const age = performance.now() - this.#loadedAt;
    if (age > 2 * this.#refreshMs) await this.#refresh();
    // A failed background refresh is harmless: the copy is still fresh enough, and the next
    // lookup past twice the period refreshes in line and reports the failure to its caller.
    else if (age > this.#refreshMs) void this.#refresh().catch(() => undefined);
  }

  /** A bucket's state from this process's copy, refreshed as `lookup` does. */
  async lookupBucket(bucket: string): Promise<BucketState> {
    await this.#freshEnough();
    return this.#buckets.get(bucket) ?? FIRST_GENERATION;
  }

  /** An owner's route as the registry holds it now, read fresh; the copy is updated with it. */
  async confirmOwner(owner: string): Promise<Route> {
    return (await this.confirmAll([owner], [])).owners.get(owner) ?? BUCKET;
  }

  /** Owners' routes and buckets' states as the registry holds them now, in one read where they fit a page. */
  async confirmAll(owners: readonly string[], buckets: readonly string[]): Promise<ConfirmedRoutes> {
    const wanted = [...owners, ...buckets.map(bucketRecordId)];
    const found = new Map<string, Readonly<Record<string, unknown>>>();
    for (let start = 0; start < wanted.length; start += PAGE) {
      const page = await this.#read({ ids: wanted.slice(start, start + PAGE), include: ['metadatas'] });
      for (const [id, metadata] of page) found.set(id, metadata);
    }
    const confirmedOwners = new Map<string, Route>();
    for (const owner of owners) {
      const metadata = found.get(owner);
      const route = metadata === undefined ? BUCKET : toRoute(metadata);
      confirmedOwners.set(owner, route);
      if (route.kind === 'bucket') this.#table.delete(owner);
      else this.#table.set(owner, route);
    }
    const confirmedBuckets = new Map<string, BucketState>();
    for (const bucket of buckets) confirmedBuckets.set(bucket, this.#keepBucket(bucket, found.get(bucketRecordId(bucket))));
    return { owners: confirmedOwners, buckets: confirmedBuckets };
  }

  /** A bucket's state as the registry holds it now, read fresh. */
  async confirmBucket(bucket: string): Promise<BucketState> {
    return (await this.confirmAll([], [bucket])).buckets.get(bucket) ?? FIRST_GENERATION;
  }

  /** A bucket's state, read fresh, and the records reported removed from it, in one read. */
  async confirmBucketRemovals(bucket: string): Promise<{ readonly state: BucketState; readonly removals: BucketRemovals }> {
    const found = await this.#read({ ids: [bucketRecordId(bucket), removalsRecordId(bucket)], include: ['metadatas'] });
    const removals = found.get(removalsRecordId(bucket));
    return {
      state: this.#keepBucket(bucket, found.get(bucketRecordId(bucket))),
      removals: removals === undefined ? { generation: 0, removed: 0 } : toBucketRemovals(removals),
    };
  }

  /** A bucket's state from its record's metadata (none: its first generation), kept in the copy. */
  #keepBucket(bucket: string, metadata: Readonly<Record<string, unknown>> | undefined): BucketState {
    const state = metadata === undefined ? FIRST_GENERATION : toBucketState(metadata);
    this.#buckets.set(bucket, state);
    return state;
  }

  async setBucket(bucket: string, state: BucketState): Promise<void> {
    await this.#write(bucketRecordId(bucket), bucketStateMetadata(state));
    this.#buckets.set(bucket, state);
  }

  async setRemovals(bucket: string, removals: BucketRemovals): Promise<void> {
    await this.#write(removalsRecordId(bucket), removalsMetadata(removals));
  }

  async #write(id: string, metadata: Map<string, string | number | boolean>): Promise<void> {
    const body = encodeStoredRecords([{ id, embedding: PLACEHOLDER_EMBEDDING, metadata }]);
    await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, true, 'upsert', body);
  }

  async set(owner: string, tenantId: string, userId: string, route: Exclude<Route, { kind: 'bucket' }>): Promise<void> {
    const metadata = new Map<string, string | number | boolean>([
      [STATE_KEY, route.kind],
      [SINCE_KEY, route.since],
      [CLEARED_KEY, route.kind === 'dedicated' && route.cleared],
      [TENANT_ID_KEY, tenantId],
      [USER_ID_KEY, userId],
    ]);
    await this.#write(owner, metadata);
    this.#table.set(owner, route);
  }

  async remove(owner: string): Promise<void> {
    await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, false, 'delete', { ids: [owner] });
    this.#table.delete(owner);
  }

  /** One refresh at a time; concurrent callers share it. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const table = new Map<string, Route>();
        const buckets = new Map<string, BucketState>();
        for (let offset = 0; ; offset += PAGE - PAGE_OVERLAP) {
          const page = await this.#read({ include: ['metadatas'], limit: PAGE, offset });
          for (const [id, metadata] of page) {
            const kind = registryRecordKind(id);
            if (kind === 'owner') table.set(id, toRoute(metadata));
            else if (kind === 'bucket') buckets.set(bucketOfRecord(id), toBucketState(metadata));
          }
          if (page.size < PAGE) break;
        }
        this.#table = table;
        this.#buckets = buckets;
        this.#loadedAt = performance.now();
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** Registry records by id, with their metadata. */
  async #read(body: Record<string, unknown>): Promise<Map<string, Readonly<Record<string, unknown>>>> {
    const answer = await this.#collections.post(ROUTES_COLLECTION, ROUTES_SPEC, false, 'get', body);
    const records = new Map<string, Readonly<Record<string, unknown>>>();
    if (answer === null) return records;
    const { ids, metadatas } = parseGetAnswer(answer);
    ids.forEach((id, index) => records.set(id, metadatas[index] ?? {}));
    return records;
  }
}

function toRoute(metadata: Readonly<Record<string, unknown>>): Route {
  const since = typeof metadata[SINCE_KEY] === 'number' ? metadata[SINCE_KEY] : 0;
  if (metadata[STATE_KEY] === 'dedicated') return { kind: 'dedicated', since, cleared: metadata[CLEARED_KEY] === true };
  return { kind: 'migrating', since };
}
