import { DomainError, EmbeddingModelMismatchError, VectorStoreInUseError } from '../../domain/errors.js';
import type { EmbeddingModelInfo } from '../../ports/embedder.js';
import type { Logger } from '../../ports/logger.js';
import type { VectorMatch, VectorQuery, VectorRecord, VectorStore } from '../../ports/vector-store.js';
import { ChromaHttp } from './chroma-http.js';
import {
  BUCKETS_KEY,
  bucketCollectionName,
  DEFAULT_BUCKETS,
  dedicatedCollectionName,
  MODEL_MARKER_COLLECTION,
  ownerKey,
  recordedBuckets,
  STORE_CLAIM_COLLECTION,
} from './collection-name.js';
import { Collections, type CollectionSpec } from './collections.js';
import { VectorStoreError } from './errors.js';
import { addThenReplace, collectionWrites, type InTurn, type SendToCollection } from './add-then-replace.js';
import { collectionsToWrite, collectionToRead, FIRST_GENERATION, type BucketState } from './bucket-generations.js';
import { BucketRebuilds } from './bucket-rebuilds.js';
import { ownerWhere, toOwner, type Owner } from './owner.js';
import { OwnerMoves } from './owner-moves.js';
import type { BackgroundCopyOptions } from './owner-migration.js';
import { OwnerRoutes, type Route } from './owner-routes.js';
import { memoryIdOfRecord, storedRecordId } from './record-id.js';
import { RecordTurns } from './record-turns.js';
import { withDigest } from './record-digest.js';
import { recordMetadata, TENANT_ID_KEY, USER_ID_KEY } from './record-metadata.js';
import { parseIds, parseQueryAnswer, type CollectionInfo } from './responses.js';
import { encodeQueryBody } from './query-body.js';
import { CURRENT_VECTOR_LAYOUT, VECTOR_LAYOUT_KEY, vectorLayout, type VectorLayout } from './vector-layout.js';
import { whereForScope, type Where } from './where-clause.js';

export interface ChromaVectorStoreOptions {
  /**
   * Base URL of the Chroma server, e.g. `http://127.0.0.1:8000`. Chroma has no authentication of
   * its own here: it must only be reachable on loopback or a private network.
   */
  readonly url: string;
  readonly logger: Logger;
  /** How many collections' ids are remembered, so that a hot path makes one request. Default 10,000. */
  readonly collectionCacheSize?: number;
  /** Time allowed for one request before Chroma counts as unavailable. Default 10,000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * Bucket collections that ordinary users share. Used when the store is first set up; later the
   * count recorded in Chroma wins, so every process agrees. Default DEFAULT_BUCKETS (2).
   */
  readonly buckets?: number;
  /**
   * An owner holding more vectors than this moves to a collection of their own, so that their
   * searches stay fast and do not slow down their bucket. Default 5,000.
   */
  readonly promoteAbove?: number;
  /** How often each process re-reads the routing table of dedicated collections. Default 2,000 ms. */
  readonly routeRefreshMs?: number;
  /**
   * After a promotion, how long writes still go to the bucket too, for processes whose routing
   * table is older; then the bucket copy is dropped. Default 5 refresh periods (10,000 ms).
   */
  readonly promotionGraceMs?: number;
  /**
   * A move to a dedicated collection still unfinished this long after it began was cut short (its
   * process stopped, or a store failed it): the next write of the owner starts it again. Default
   * 600,000 ms, far over a move's time (seconds).
   */
  readonly stalledMigrationMs?: number;
  /**
   * A bucket from which at least this many records were removed, and `rebuildAfterRemovedPerHeld`
   * times what it still holds, is rebuilt: Chroma keeps removed records in a collection's index
   * for good. Default 5,000.
   */
  readonly rebuildAfterRemoved?: number;
  /** See `rebuildAfterRemoved`. Default 4: a rebuild copies what the bucket holds (see REMOVED_PER_HELD_TO_REBUILD). */
  readonly rebuildAfterRemovedPerHeld?: number;
}

/** Well below Chroma's own batch limit (5,461 in 1.0), and a request of a few megabytes at most. */
const RECORDS_PER_REQUEST = 1_000;
const IDS_PER_PAGE = 1_000;
/** Collections written at the same time by one upsert: enough to hide latency, few enough to share the server. */
const PARALLEL_COLLECTION_WRITES = 4;
/**
 * - Cosine, and no breadth of its own for the HNSW walk: Chroma walks with max(ef_search,
 *   n_results), and a filtered walk that must gather more of an owner's vectors than there are
 *   covers the whole collection. Each query's n_results (the search depth, at least 50) sets
 *   it instead.
 * - The index written to disk every 100 records rather than 1,000: until then a collection's
 *   records stay in Chroma's SQLite log as well, which its queries and writes read through. At 100k
 *   memories of 1,000 users (16 buckets) that took batched ingest from 255 to 418 memories/s, the
 *   raw query from 5.6 to 4.4 ms and 202-to-searchable p95 from 548 to 124 ms (`npm run bench`).
 *   Collections made before keep the setting they were made with.
 */
const COLLECTION_CONFIGURATION = { hnsw: { space: 'cosine', ef_search: 1, sync_threshold: 100, batch_size: 100 } } as const;
/** The least a query asks Chroma for, and so the least breadth of its walk: fewer loses good matches. */
const MIN_QUERY_BREADTH = 50;
/**
 * Most ids a bucket query takes in place of its owner filter: as many as an owner holds before
 * moving to a collection of their own, so the filter is left to owners past that. Chroma answers a
 * filter by reading the metadata of every record of the collection, where it looks ids up one by
 * one: at 6,200 records of 62 owners, a query for 50 took 2.9 ms with the filter and 1.1-1.4 ms
 * with the owner's 100 ids (an unfiltered one, 0.9-1.0). At 100k memories of 1,000 users, 8
 * clients: Chroma's CPU per search 4.7 → 1.2 ms, 158 → 220 searches/s. At 100k memories of 50
 * users (2,000 each, two buckets of 50,000), ids up to 1,000 against up to 5,000: one client
 * 24 → 46 searches/s (p50 39.6 → 20.5 ms), 8 clients 35-37 → 71-75 searches/s.
 */
const MAX_QUERY_IDS = 5_000;
/** An owner with more vectors than this moves to a collection of their own (the default). */
const DEFAULT_PROMOTE_ABOVE = MAX_QUERY_IDS;
/**
 * After a promotion, how long writes still go to the bucket too, in periods of the routing table's
 * refresh: 2.5 times the oldest table a process reads by (two periods, see OwnerRoutes.lookup), so
 * 10 s by default. Every record written to the bucket is later removed from it, and Chroma keeps a
 * removed record in the bucket's index for good, where every later insert walks past it: a bucket
 * of 1,500 records and 20,000 removed ones took 33-36 ms of Chroma's CPU to add 5 records, against
 * 6.2-7.5 ms without them (fresh Chroma). One user loaded with 100k memories at ~500/s grew their
 * old bucket's index to 25,000 places with 30 s, to 14,000 with 10 s; the writes that followed (50
 * a second, each of a new user, half of them to that bucket) cost Chroma 8.9-11.1 ms of CPU each
 * against 3.6-5.1.
 */
const PROMOTION_GRACE_IN_REFRESHES = 5;
const DEFAULT_ROUTE_REFRESH_MS = 2_000;
const MIGRATION_PASSES = 5;
/**
 * A bucket is rebuilt once the records removed from it pass this many times those it holds. The
 * copy costs in proportion to what it holds, and slows Chroma's other writes meanwhile: before it
 * rested (see COPY_REST_PER_BUSY), a bucket of 10,000 records was copied within 15-19 s, and single
 * writes beside it cost Chroma 56-79 ms of CPU against 8-13 before. With about as many removed as
 * held (12,000 against 10,000), or ten times (20,000 against 2,000), writes after a rebuild cost no
 * less than without one, beyond the spread of runs (random vectors, a scratch driver); with nearly
 * all removed (the benchmark's heavy user leaving their bucket) they cost half.
 */
const REMOVED_PER_HELD_TO_REBUILD = 4;

const MODEL_ID_KEY = 'engram_model_id';
const MODEL_DIMENSIONS_KEY = 'engram_model_dimensions';
/** The marker's metadata key naming the metadata store (its identity) the vectors belong to. */
const STORE_KEY = 'engram_store';
const BUCKET_ROUTE: Route = { kind: 'bucket' };

/** Sends a request to one endpoint of the collection a query reads; `null` when it does not exist. */
type PostToCollection = (endpoint: 'query' | 'get', body: string | Record<string, unknown>) => Promise<unknown>;

/** An owner's records with the route, and their bucket's state, they are written by. */
interface RoutedGroup {
  readonly group: OwnerGroup;
  readonly route: Route;
  readonly bucket: BucketState;
}

/** One collection an owner's records are written to, in the order of `step`: a bucket's generations, then the owner's own. */
interface WriteTarget {
  readonly name: string;
  readonly create: boolean;
  readonly dedicated: boolean;
  readonly step: number;
}

interface OwnerGroup {
  readonly owner: Owner;
  readonly records: VectorRecord[];
}

/**
 * The vector store on a Chroma server. Owners (tenant, user) share a fixed number of bucket
 * collections, where every record carries its owner key in its id and its metadata. A query names
 * the owner's record ids when the caller knows them (`idsWanted`), and filters on the owner key
 * otherwise: an equality that Chroma answers in a few ms, where a filter on tenant and user
 * together costs tens. An owner who grows past `promoteAbove` vectors moves to a collection of
 * their own, recorded in a routing table in Chroma. Numbers are stored as floats and vectors
 * compared by cosine.
 */
export class ChromaVectorStore implements VectorStore {
  readonly #http: ChromaHttp;
  readonly #logger: Logger;
  readonly #collections: Collections;
  readonly #routes: OwnerRoutes;
  readonly #moves: OwnerMoves;
  readonly #rebuilds: BucketRebuilds;
  /** Writes of this process that share records of a collection take turns (see addThenReplace). */
  readonly #turns = new RecordTurns();
  #buckets: number;
  #model: EmbeddingModelInfo | null = null;
  #layout: VectorLayout = vectorLayout(CURRENT_VECTOR_LAYOUT);

  constructor(options: ChromaVectorStoreOptions) {
    this.#http = new ChromaHttp({ url: options.url, requestTimeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.#logger = options.logger.child({ component: 'chroma-vector-store' });
    this.#collections = new Collections(this.#http, this.#logger, options.collectionCacheSize ?? 10_000);
    const refreshMs = options.routeRefreshMs ?? DEFAULT_ROUTE_REFRESH_MS;
    this.#routes = new OwnerRoutes(this.#collections, { refreshMs });
    this.#buckets = options.buckets ?? DEFAULT_BUCKETS;
    const copies: BackgroundCopyOptions = {
      http: this.#http,
      logger: this.#logger,
      collections: this.#collections,
      routes: this.#routes,
      graceMs: options.promotionGraceMs ?? PROMOTION_GRACE_IN_REFRESHES * refreshMs,
      stalledMs: options.stalledMigrationMs ?? 600_000,
      pageSize: RECORDS_PER_REQUEST,
      maxPasses: MIGRATION_PASSES,
    };
    this.#moves = new OwnerMoves({
      ...copies,
      turns: this.#turns,
      steps: {
        bucketToRead: (owner) => this.#bucketToRead(owner),
        bucketSpec: () => this.#bucketSpec(),
        dedicatedSpec: (owner) => this.#dedicatedSpec(owner),
        clearFromBucket: async (owner, counted) => this.#removeFromBucket(owner, await this.#routes.confirmBucket(this.#bucketOf(owner)), counted),
      },
      promoteAbove: options.promoteAbove ?? DEFAULT_PROMOTE_ABOVE,
      ownersRemembered: options.collectionCacheSize ?? 10_000,
    });
    this.#rebuilds = new BucketRebuilds({
      ...copies,
      bucketSpec: () => this.#bucketSpec(),
      rebuildAfterRemoved: options.rebuildAfterRemoved ?? DEFAULT_PROMOTE_ABOVE,
      rebuildAfterRemovedPerHeld: options.rebuildAfterRemovedPerHeld ?? REMOVED_PER_HELD_TO_REBUILD,
    });
  }

  async bindModel(model: EmbeddingModelInfo): Promise<void> {
    const marker = await this.#marker(model);
    assertSameModel(marker, model);
    // A store set up before layouts were recorded keeps its plain vectors.
    this.#layout = vectorLayout(marker.metadata[VECTOR_LAYOUT_KEY]);
    this.#buckets = recordedBuckets(marker.metadata, this.#buckets);
    this.#model = model;
  }

  async bindStore(storeId: string): Promise<void> {
    if (this.#model === null) throw new DomainError('internal', 'model_not_bound', 'the vector store binds a store after its model');
    const marker = await this.#marker(this.#model);
    const bound = marker.metadata[STORE_KEY];
    if (bound === storeId) return;
    if (bound !== undefined) throw new VectorStoreInUseError(String(bound), storeId);
    // A store set up before this was recorded, or a new one: taken by the first to claim it, then
    // recorded in the marker too, where every start looks first. Chroma replaces a collection's
    // metadata whole.
    const claimed = (await this.#collections.ensure(STORE_CLAIM_COLLECTION, { metadata: { [STORE_KEY]: storeId } })).metadata[STORE_KEY];
    if (claimed !== storeId) throw new VectorStoreInUseError(String(claimed), storeId);
    const scalars = Object.entries(marker.metadata).filter(
      (entry): entry is [string, string | number | boolean] => ['string', 'number', 'boolean'].includes(typeof entry[1]),
    );
    await this.#collections.replaceMetadata(marker, { ...Object.fromEntries(scalars), [STORE_KEY]: storeId });
  }

  /** The marker collection; get_or_create keeps the metadata of the first creator, so concurrent first starts agree. */
  #marker(model: EmbeddingModelInfo): Promise<CollectionInfo> {
    return this.#collections.ensure(MODEL_MARKER_COLLECTION, {
      metadata: { ...modelMetadata(model), [BUCKETS_KEY]: this.#buckets, [VECTOR_LAYOUT_KEY]: CURRENT_VECTOR_LAYOUT },
    });
  }

  async upsert(records: readonly VectorRecord[]): Promise<void> {
    const groups = groupByOwner(records);
    const used: RoutedGroup[] = [];
    for (const group of groups) {
      used.push({ group, route: await this.#routes.lookup(group.owner.key), bucket: await this.#routes.lookupBucket(this.#bucketOf(group.owner)) });
    }
    const missing = new Set<string>();
    const written = new Map(used.map((entry) => [entry.group.owner.key, this.#writeTargets(entry)]));
    await this.#writeAll(used, missing);
    // A promotion or a bucket's rebuild may have started after the lookup: whoever wrote by an old
    // route writes again by the new one, so the copy and these writes cannot miss each other.
    const confirmed = await this.#routes.confirmAll(
      groups.map((group) => group.owner.key),
      [...new Set(groups.map((group) => this.#bucketOf(group.owner)))],
    );
    const routed = groups.map((group) => ({
      group,
      route: confirmed.owners.get(group.owner.key) ?? BUCKET_ROUTE,
      bucket: confirmed.buckets.get(this.#bucketOf(group.owner)) ?? FIRST_GENERATION,
    }));
    await this.#writeAll(routed, missing, (entry, target) => !(written.get(entry.group.owner.key) ?? []).some((done) => done.name === target.name));
    const settled = await this.#leaveRoutesToDroppedCollections(routed, missing);
    await this.#dropLateBucketCopies(settled, written);
    await this.#dropRetiredGenerations(routed, written);
    await forEachLimited(settled, PARALLEL_COLLECTION_WRITES, ({ group, route }) => this.#moves.afterWrite(group.owner, group.records.length, route));
    const buckets = new Map(settled.map((entry) => [this.#bucketOf(entry.group.owner), entry.bucket] as const));
    await forEachLimited([...buckets], PARALLEL_COLLECTION_WRITES, ([bucket, state]) => this.#rebuilds.afterWrite(bucket, state));
  }

  /**
   * A route to a dedicated collection that is gone: the owner was erased (which drops it) after
   * another process read the route, and that process then recorded it again (a move ending, a
   * bucket cleared). The owner is back in their bucket, where the records are written.
   */
  async #leaveRoutesToDroppedCollections(routed: readonly RoutedGroup[], missing: ReadonlySet<string>): Promise<RoutedGroup[]> {
    const stale = routed.filter(({ group, route }) => route.kind === 'dedicated' && missing.has(group.owner.key));
    if (stale.length === 0) return [...routed];
    for (const { group } of stale) await this.#routes.remove(group.owner.key);
    await this.#writeAll(
      stale.map((entry) => ({ ...entry, route: BUCKET_ROUTE })),
      new Set(),
    );
    return routed.map((entry) => (stale.includes(entry) ? { ...entry, route: BUCKET_ROUTE } : entry));
  }

  /**
   * Copies written to a bucket that another process cleared of the owner meanwhile: a cleared
   * bucket is never read or cleaned for them again, so they go now.
   */
  async #dropLateBucketCopies(routed: readonly RoutedGroup[], written: ReadonlyMap<string, readonly WriteTarget[]>): Promise<void> {
    const late = routed.flatMap(({ group, route }) => {
      const inBuckets = (written.get(group.owner.key) ?? []).filter((target) => !target.dedicated).map((target) => target.name);
      return route.kind === 'dedicated' && route.cleared && inBuckets.length > 0 ? [{ group, inBuckets }] : [];
    });
    await forEachLimited(late, PARALLEL_COLLECTION_WRITES, ({ group, inBuckets }) =>
      this.#removeIdsFromBuckets(
        group.owner,
        group.records.map((record) => record.id),
        inBuckets,
      ),
    );
  }

  /**
   * A generation of a bucket written by a state that has moved on since, and that the confirmed
   * state no longer writes: retired, and dropped by its rebuild. A write that made it again (its
   * process's table was older than the rebuild's grace) drops it once more: it is never read.
   */
  async #dropRetiredGenerations(routed: readonly RoutedGroup[], written: ReadonlyMap<string, readonly WriteTarget[]>): Promise<void> {
    const retired = new Set<string>();
    for (const entry of routed) {
      const current = new Set(collectionsToWrite(this.#bucketOf(entry.group.owner), entry.bucket).map((target) => target.name));
      for (const target of written.get(entry.group.owner.key) ?? []) {
        if (!target.dedicated && !current.has(target.name)) retired.add(target.name);
      }
    }
    for (const name of retired) await this.#collections.drop(name);
  }

  async query({ scope, embedding, topK, ids }: VectorQuery): Promise<VectorMatch[]> {
    const filters = whereForScope(scope);
    if (filters === 'none' || topK < 1) return [];
    const owner = toOwner(scope.tenantId, scope.userId);
    const route = await this.#routes.lookup(owner.key);
    const dedicated = route.kind === 'dedicated';
    const wanted = Math.floor(topK);
    const breadth = Math.max(wanted, MIN_QUERY_BREADTH);
    const vector = this.#layout.vectorFor(embedding, owner.key);
    const collection = dedicated ? dedicatedCollectionName(owner.key) : await this.#bucketToRead(owner);
    const spec = dedicated ? this.#dedicatedSpec(owner) : this.#bucketSpec();
    const post: PostToCollection = (endpoint, body) => this.#collections.post(collection, spec, false, endpoint, body);

    let answer: unknown = undefined;
    // Matches of a query among the named records are all named; a filtered query's are kept to
    // them here (a set of up to 5,000 ids costs the event loop about 1 ms, so only when needed).
    let named: ReadonlySet<string> | null = null;
    if (!dedicated && ids !== undefined && ids.length <= MAX_QUERY_IDS) {
      if (ids.length === 0) return [];
      answer = await this.#queryNamed(post, vector, breadth, ids.map((id) => storedRecordId(owner.key, id)));
    }
    if (answer === undefined) {
      const where = dedicated ? filters : withOwner(owner, filters);
      named = ids === undefined ? null : new Set(ids);
      answer = await post('query', encodeQueryBody({ vector, nResults: breadth, ...(where === null ? {} : { where }) }));
    }
    if (answer === null) return [];
    const { ids: found, distances } = parseQueryAnswer(answer);
    return found
      .map((id, index) => ({ id: memoryIdOfRecord(id), score: this.#layout.similarity(distances[index] ?? 2) }))
      .filter((match) => named === null || named.has(match.id))
      .sort((left, right) => right.score - left.score)
      .slice(0, wanted);
  }

  /**
   * Queries a bucket among the owner's named records, which is exact and walks no more than them.
   * Chroma refuses the whole query if it lacks one of them (a memory whose vector is still being
   * written, or already removed): then it is asked which it holds, and queried among those. A
   * second refusal (one removed meanwhile) leaves `undefined`: the caller filters on the owner.
   * `null` when Chroma holds none of them.
   */
  async #queryNamed(post: PostToCollection, vector: Float32Array, breadth: number, named: readonly string[]): Promise<unknown> {
    const among = async (records: readonly string[]): Promise<unknown> =>
      post('query', encodeQueryBody({ vector, nResults: Math.min(breadth, records.length), ids: records }));
    try {
      return await among(named);
    } catch (error) {
      if (!refusedUnknownId(error)) throw error;
    }
    const records = await heldAmong(post, named);
    if (records.length === 0) return null;
    try {
      return await among(records);
    } catch (error) {
      if (!refusedUnknownId(error)) throw error;
      return undefined;
    }
  }

  async idsWanted(tenantId: string, userId: string): Promise<number> {
    // A dedicated collection holds its owner alone: its queries need no owner filter to replace.
    const route = await this.#routes.lookup(ownerKey(tenantId, userId));
    return route.kind === 'dedicated' ? 0 : MAX_QUERY_IDS;
  }

  async remove(tenantId: string, userId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const owner = toOwner(tenantId, userId);
    const bucket = this.#bucketOf(owner);
    const used = this.#removalTargets(owner, await this.#routes.lookup(owner.key), await this.#routes.lookupBucket(bucket));
    await this.#removeAt(owner, ids, used);
    const confirmed = await this.#routes.confirmAll([owner.key], [bucket]);
    const now = this.#removalTargets(owner, confirmed.owners.get(owner.key) ?? BUCKET_ROUTE, confirmed.buckets.get(bucket) ?? FIRST_GENERATION);
    await this.#removeAt(
      owner,
      ids,
      now.filter((target) => !used.some((done) => done.name === target.name)),
    );
    // An owner whose bucket is cleared of them removed nothing there.
    if (writesBucket(confirmed.owners.get(owner.key) ?? BUCKET_ROUTE)) await this.#rebuilds.countRemovals(bucket, ids.length, false);
  }

  async removeUser(tenantId: string, userId: string): Promise<void> {
    const owner = toOwner(tenantId, userId);
    const bucket = this.#bucketOf(owner);
    await this.#removeFromBucket(owner, await this.#routes.lookupBucket(bucket), true);
    await this.#collections.drop(dedicatedCollectionName(owner.key));
    await this.#routes.remove(owner.key);
    this.#moves.forget(owner);
    // A write that was routed to the dedicated collection just before is caught by its own
    // confirmation; one that went to the bucket meanwhile is removed here.
    await this.#removeFromBucket(owner, await this.#routes.confirmBucket(bucket), false);
  }

  async listIds(tenantId: string, userId: string): Promise<string[]> {
    const owner = toOwner(tenantId, userId);
    const route = await this.#routes.lookup(owner.key);
    const dedicated = route.kind === 'dedicated';
    const ids = await this.#collections.run(
      dedicated ? dedicatedCollectionName(owner.key) : await this.#bucketToRead(owner),
      dedicated ? this.#dedicatedSpec(owner) : this.#bucketSpec(),
      false,
      async (path) => {
        const found: string[] = [];
        for (;;) {
          const answer = await this.#http.sendUnlessMissing({
            method: 'POST',
            path: `${path}/get`,
            body: { include: [], limit: IDS_PER_PAGE, offset: found.length, ...(dedicated ? {} : { where: ownerWhere(owner) }) },
          });
          if (answer === null) return null;
          const page = parseIds(answer);
          found.push(...page.map(memoryIdOfRecord));
          if (page.length < IDS_PER_PAGE) return found;
        }
      },
    );
    return ids ?? [];
  }

  async ping(): Promise<void> {
    await this.#http.send({ method: 'GET', path: '/heartbeat' });
  }

  /** Resolves once the moves this process has started are over, whether they succeeded or failed. */
  async settle(): Promise<void> {
    for (;;) {
      const running = [...this.#moves.running(), ...this.#rebuilds.running()];
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  async close(): Promise<void> {
    await this.settle();
    this.#collections.forget();
    this.#http.close();
  }

  /**
   * Writes each owner's records where their route and their bucket's state say: the bucket's
   * generations, the dedicated collection, or both (those `only` lets through, all by default).
   * Owners sharing a collection go out in one request per collection, not one per owner. Buckets go
   * first, and of a bucket's generations the one copied from: a move or a rebuild that has not yet
   * made its collection copies the records from there. Only a move makes a dedicated collection,
   * and only a rebuild the next generation: an owner whose collection is missing (an erasure
   * dropped it) is added to `missing`, and taken out again once their collection takes records.
   */
  async #writeAll(
    routed: readonly RoutedGroup[],
    missing: Set<string>,
    only: (entry: RoutedGroup, target: WriteTarget) => boolean = () => true,
  ): Promise<void> {
    // A dedicated collection has one owner: the batch's first is the one its spec is checked against.
    const steps = new Map<number, Map<string, { readonly target: WriteTarget; readonly owner: Owner; readonly records: VectorRecord[] }>>();
    for (const entry of routed) {
      const targets = this.#writeTargets(entry).filter((target) => only(entry, target));
      if (targets.length === 0) continue;
      const { owner } = entry.group;
      const records = entry.group.records.map((record) => ({
        ...record,
        id: storedRecordId(owner.key, record.id),
        embedding: this.#layout.vectorFor(record.embedding, owner.key),
      }));
      for (const target of targets) {
        let step = steps.get(target.step);
        if (step === undefined) steps.set(target.step, (step = new Map()));
        const batch = step.get(target.name);
        if (batch === undefined) step.set(target.name, { target, owner, records: [...records] });
        else batch.records.push(...records);
      }
    }
    for (const [, step] of [...steps].sort(([left], [right]) => left - right)) {
      await forEachLimited([...step.values()], PARALLEL_COLLECTION_WRITES, async ({ target, owner, records }) => {
        if (!target.dedicated) {
          await this.#writeTo(target.name, this.#bucketSpec(), target.create, records);
          return;
        }
        const written = await this.#writeTo(target.name, this.#dedicatedSpec(owner), false, records);
        if (written) missing.delete(owner.key);
        else missing.add(owner.key);
      });
    }
  }

  /** Where an owner's records go: their bucket's generations until the bucket is cleared of them, and their own collection once they have one. */
  #writeTargets({ group, route, bucket }: RoutedGroup): WriteTarget[] {
    const targets: WriteTarget[] = [];
    if (writesBucket(route)) {
      collectionsToWrite(this.#bucketOf(group.owner), bucket).forEach((generation, step) => targets.push({ ...generation, dedicated: false, step }));
    }
    if (route.kind !== 'bucket') targets.push(dedicatedTarget(group.owner));
    return targets;
  }

  /** Whether the records were written: false when the collection is missing and `create` is not set. */
  async #writeTo(name: string, spec: CollectionSpec, create: boolean, records: readonly VectorRecord[]): Promise<boolean> {
    let gone: VectorStoreError | null = null;
    const send: SendToCollection = async (endpoint, body) => {
      const answer = await this.#collections.post(name, spec, create, endpoint, body);
      if (answer === null) throw (gone = new VectorStoreError('the collection was dropped while it was written; try again', { status: 404, retryable: true }));
      return answer;
    };
    const collection = collectionWrites(send);
    const inTurn: InTurn = (ids, work) => this.#turns.run(name, ids, work);
    const stored = records.map((record) => withDigest({ id: record.id, embedding: record.embedding, metadata: recordMetadata(record) }));
    try {
      for (let start = 0; start < stored.length; start += RECORDS_PER_REQUEST) {
        await addThenReplace(stored.slice(start, start + RECORDS_PER_REQUEST), collection, inTurn);
      }
    } catch (error) {
      if (error === gone && !create) return false;
      throw error;
    }
    return true;
  }

  /**
   * Where an owner's records are removed from: the route's collections, and the bucket's also
   * once it is cleared of the owner, as a copy written there late by another process (see
   * #dropLateBucketCopies) must not outlive its memory.
   */
  #removalTargets(owner: Owner, route: Route, bucket: BucketState): WriteTarget[] {
    return this.#writeTargets({ group: { owner, records: [] }, route: BUCKET_ROUTE, bucket }).concat(
      route.kind === 'bucket' ? [] : [dedicatedTarget(owner)],
    );
  }

  async #removeAt(owner: Owner, ids: readonly string[], targets: readonly WriteTarget[]): Promise<void> {
    await this.#removeIdsFromBuckets(
      owner,
      ids,
      targets.filter((target) => !target.dedicated).map((target) => target.name),
    );
    if (targets.some((target) => target.dedicated)) await this.#removeIds(dedicatedCollectionName(owner.key), this.#dedicatedSpec(owner), owner, ids, {});
  }

  async #removeIdsFromBuckets(owner: Owner, ids: readonly string[], buckets: readonly string[]): Promise<void> {
    // The owner filter makes sure that an id of another owner is never touched.
    for (const name of buckets) await this.#removeIds(name, this.#bucketSpec(), owner, ids, { where: ownerWhere(owner) });
  }

  /** Deletes the owner's records of `ids` from a collection, a request per page; none if it is missing. */
  async #removeIds(name: string, spec: CollectionSpec, owner: Owner, ids: readonly string[], filter: { readonly where?: Where }): Promise<void> {
    for (let start = 0; start < ids.length; start += RECORDS_PER_REQUEST) {
      const body = { ids: ids.slice(start, start + RECORDS_PER_REQUEST).map((id) => storedRecordId(owner.key, id)), ...filter };
      if ((await this.#collections.post(name, spec, false, 'delete', body)) === null) return;
    }
  }

  /**
   * Removes all of an owner's records from each generation of their bucket that `state` writes;
   * `counted` reports what they took out of the generation read (see BucketRebuilds.removeCounted).
   */
  async #removeFromBucket(owner: Owner, state: BucketState, counted: boolean): Promise<void> {
    const bucket = this.#bucketOf(owner);
    await this.#rebuilds.removeCounted(bucket, state, counted, async () => {
      for (const { name } of collectionsToWrite(bucket, state)) {
        await this.#collections.post(name, this.#bucketSpec(), false, 'delete', { where: ownerWhere(owner) });
      }
    });
  }

  /** The bucket an owner's records share with others', named as its first generation. */
  #bucketOf(owner: Owner): string {
    return bucketCollectionName(owner.key, this.#buckets);
  }

  /** The collection of the owner's bucket that queries read now. */
  async #bucketToRead(owner: Owner): Promise<string> {
    const bucket = this.#bucketOf(owner);
    return collectionToRead(bucket, await this.#routes.lookupBucket(bucket));
  }

  #bucketSpec(): CollectionSpec {
    return {
      metadata: { engram_role: 'bucket', ...this.#boundModelMetadata() },
      configuration: COLLECTION_CONFIGURATION,
      check: (collection) => this.#checkModel(collection),
    };
  }

  #dedicatedSpec(owner: Owner): CollectionSpec {
    return {
      metadata: { [TENANT_ID_KEY]: owner.tenantId, [USER_ID_KEY]: owner.userId, ...this.#boundModelMetadata() },
      configuration: COLLECTION_CONFIGURATION,
      check: (collection) => {
        assertOwner(collection, dedicatedCollectionName(owner.key), owner);
        this.#checkModel(collection);
      },
    };
  }

  #checkModel(collection: CollectionInfo): void {
    if (this.#model !== null && collection.metadata[MODEL_ID_KEY] !== undefined) assertSameModel(collection, this.#model);
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

/** Those of `ids` that the collection holds; none when it does not exist. */
async function heldAmong(post: PostToCollection, ids: readonly string[]): Promise<string[]> {
  const answer = await post('get', { ids, include: [] });
  return answer === null ? [] : parseIds(answer);
}

function withOwner(owner: Owner, filters: Where | null): Where {
  return filters === null ? ownerWhere(owner) : { $and: [ownerWhere(owner), filters] };
}

/** An owner's own collection as a write's last step: only a move makes it. */
function dedicatedTarget(owner: Owner): WriteTarget {
  return { name: dedicatedCollectionName(owner.key), create: false, dedicated: true, step: 2 };
}

/** Whether a route writes to the owner's bucket: until a dedicated collection's bucket is cleared. */
function writesBucket(route: Route): boolean {
  return route.kind !== 'dedicated' || !route.cleared;
}

/** Records per owner, each id once: the last record of an id wins, as a later write would. */
function groupByOwner(records: readonly VectorRecord[]): OwnerGroup[] {
  const latest = new Map<string, { owner: Owner; byId: Map<string, VectorRecord> }>();
  for (const record of records) {
    const owner = toOwner(record.tenantId, record.userId);
    let entry = latest.get(owner.key);
    if (entry === undefined) latest.set(owner.key, (entry = { owner, byId: new Map() }));
    entry.byId.delete(record.id);
    entry.byId.set(record.id, record);
  }
  return [...latest.values()].map(({ owner, byId }) => ({ owner, records: [...byId.values()] }));
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

/** A second guard behind the hashed name: a dedicated collection only serves the owner it was made for. */
function assertOwner(collection: CollectionInfo, name: string, owner: Owner): void {
  const { [TENANT_ID_KEY]: storedTenant, [USER_ID_KEY]: storedUser } = collection.metadata;
  if (storedTenant === owner.tenantId && storedUser === owner.userId) return;
  throw new VectorStoreError(`collection ${name} belongs to another owner`, { details: { collection: name } });
}

/** Chroma's answer to a query naming an id it does not hold: an internal error. */
function refusedUnknownId(error: unknown): boolean {
  if (!(error instanceof VectorStoreError)) return false;
  const details = error.details as { readonly status?: unknown } | null;
  return details?.status === 500;
}
