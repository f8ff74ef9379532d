import type { Logger } from '../../ports/logger.js';
import { KeyedRuns } from '../../support/keyed-runs.js';
import { collectionToRead, generationCollectionName, type BucketState } from './bucket-generations.js';
import { COLLECTIONS_PATH, type CollectionSpec } from './collections.js';
import { besideWrites, copyToNewCollection, type BackgroundCopyOptions } from './owner-migration.js';

export interface BucketRebuildsOptions extends BackgroundCopyOptions {
  /** What every generation of a bucket is made and checked with. */
  readonly bucketSpec: () => CollectionSpec;
  /** A bucket is rebuilt once at least this many records were removed from it... */
  readonly rebuildAfterRemoved: number;
  /** ...and this many times what it still holds. */
  readonly rebuildAfterRemovedPerHeld: number;
}

/** Most removals a process counts for a bucket before it reports them to the routes collection. */
const MAX_REMOVALS_BETWEEN_REPORTS = 200;

/**
 * Keeps buckets free of the records removed from them (see BucketState): counts the removals,
 * reports them to the routes collection, and rebuilds a bucket once they pass the thresholds. A
 * rebuild runs beside the writes, as an owner's move does; the writers keep both generations
 * current themselves (see ChromaVectorStore.upsert).
 */
export class BucketRebuilds {
  readonly #options: BucketRebuildsOptions;
  readonly #logger: Logger;
  /** Rebuilds under way in this process, by bucket; one that failed here starts again at the bucket's next write. */
  readonly #rebuilds = new KeyedRuns();
  /** Bucket → records removed here and not yet reported. */
  readonly #unreported = new Map<string, number>();
  readonly #reportEvery: number;

  constructor(options: BucketRebuildsOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#reportEvery = Math.max(1, Math.min(MAX_REMOVALS_BETWEEN_REPORTS, Math.floor(options.rebuildAfterRemoved / 10)));
  }

  /** The rebuilds under way in this process. */
  running(): Promise<void>[] {
    return this.#rebuilds.running();
  }

  /**
   * Runs `remove`, a removal of owners' records from the generations of `bucket` that `state`
   * writes, and reports at once what it took out of the generation read (Chroma's count before and
   * after). With `counted` false the removal is not counted: a second sweep for late writes, which
   * finds a few records at most.
   */
  async removeCounted(bucket: string, state: BucketState, counted: boolean, remove: () => Promise<void>): Promise<void> {
    if (!counted) return remove();
    const read = collectionToRead(bucket, state);
    const before = await this.#count(read);
    await remove();
    const after = await this.#count(read);
    if (before !== null && after !== null && before > after) await this.countRemovals(bucket, before - after, true);
  }

  /**
   * Counts records removed from a bucket, and reports them to the routes collection every few
   * hundred (or at once, `reportNow`) for the generation read. A bucket whose reported removals
   * pass both thresholds is rebuilt. A report that fails is logged: the removal itself is done.
   */
  async countRemovals(bucket: string, removed: number, reportNow: boolean): Promise<void> {
    const unreported = (this.#unreported.get(bucket) ?? 0) + removed;
    if (!reportNow && unreported < this.#reportEvery) {
      this.#unreported.set(bucket, unreported);
      return;
    }
    this.#unreported.delete(bucket);
    try {
      const { state, removals } = await this.#options.routes.confirmBucketRemovals(bucket);
      const total = (removals.generation === state.generation ? removals.removed : 0) + unreported;
      await this.#options.routes.setRemovals(bucket, { generation: state.generation, removed: total });
      if (total < this.#options.rebuildAfterRemoved || !rebuildMayStart(state)) return;
      const held = await this.#count(collectionToRead(bucket, state));
      if (held !== null && total > this.#options.rebuildAfterRemovedPerHeld * held) this.#start(bucket);
    } catch (error) {
      // A report lost to an outage only delays a rebuild.
      this.#logger.warn({ err: error, bucket }, 'reporting removed records failed');
    }
  }

  /** After a write to `bucket` by `state`: drops a rebuilt bucket's previous generation once the grace is over, and starts again a rebuild that stalled or failed here. */
  async afterWrite(bucket: string, state: BucketState): Promise<void> {
    if (state.kind === 'rebuilt' && !state.cleared && Date.now() - state.since > this.#options.graceMs) {
      await this.#options.routes.setBucket(bucket, { ...state, cleared: true });
      // Writers that read the state before it was cleared may still make the old generation
      // again; they drop it themselves once they confirm the state (see ChromaVectorStore).
      await this.#options.collections.drop(generationCollectionName(bucket, state.generation - 1));
      return;
    }
    if (state.kind === 'rebuilding' && (this.#rebuilds.failed(bucket) || Date.now() - state.since > this.#options.stalledMs)) this.#start(bucket);
  }

  /** Starts a bucket's rebuild unless one is under way here. */
  #start(bucket: string): void {
    this.#rebuilds.start(
      bucket,
      () => this.#rebuild(bucket),
      (error) => this.#logger.warn({ err: error, bucket }, 'rebuilding a bucket failed; its next write tries again'),
    );
  }

  /**
   * Copies a bucket's live records to its next generation (see copyToNewCollection): the state
   * says rebuilding first, so every writer puts records in both generations, and the copy undoes
   * its adds of records that writers removed meanwhile. Then the new generation is read. A rebuild
   * started again begins with a new collection, as the one an earlier attempt left may hold
   * records removed since; a rebuild whose state another process changed stops.
   */
  async #rebuild(bucket: string): Promise<void> {
    const { routes, collections, bucketSpec } = this.#options;
    const began = performance.now();
    const state = await routes.confirmBucket(bucket);
    if (!rebuildMayStart(state) && state.kind !== 'rebuilding') return;
    const { generation } = state;
    const since = Date.now();
    await routes.setBucket(bucket, { kind: 'rebuilding', generation, since });
    const targetName = generationCollectionName(bucket, generation + 1);
    await collections.drop(targetName);
    const target = await collections.ensure(targetName, bucketSpec());
    const source = await collections.ensure(generationCollectionName(bucket, generation), bucketSpec());
    const stillRebuilding = async (): Promise<boolean> => {
      const now = await routes.confirmBucket(bucket);
      return now.kind === 'rebuilding' && now.generation === generation && now.since === since;
    };
    const copied = await copyToNewCollection({
      http: besideWrites(this.#options.http),
      sourcePath: `${COLLECTIONS_PATH}/${source.id}`,
      ownerWhere: null,
      targetPath: `${COLLECTIONS_PATH}/${target.id}`,
      pageSize: this.#options.pageSize,
      maxPasses: this.#options.maxPasses,
      stillMigrating: stillRebuilding,
    });
    if (copied === null || !(await stillRebuilding())) return;
    await routes.setBucket(bucket, { kind: 'rebuilt', generation: generation + 1, since: Date.now(), cleared: false });
    this.#logger.info({ bucket, generation: generation + 1, vectors: copied, ms: Math.round(performance.now() - began) }, 'bucket rebuilt without its removed records');
  }

  /**
   * The records a collection holds; null when it does not exist or Chroma did not answer. Counts
   * only serve the bookkeeping, which never fails the removal that asks for them.
   */
  async #count(name: string): Promise<number | null> {
    try {
      const answer = await this.#options.collections.run(name, this.#options.bucketSpec(), false, (path) =>
        this.#options.http.sendUnlessMissing({ method: 'GET', path: `${path}/count` }),
      );
      return typeof answer === 'number' ? answer : null;
    } catch (error) {
      this.#logger.debug({ err: error, collection: name }, 'counting a collection failed');
      return null;
    }
  }
}

/** Whether a bucket may start a rebuild: none is under way, and the last one's old generation is gone. */
function rebuildMayStart(state: BucketState): boolean {
  return state.kind === 'stable' || (state.kind === 'rebuilt' && state.cleared);
}
