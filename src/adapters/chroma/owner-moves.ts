import { KeyedRuns } from '../../support/keyed-runs.js';
import { LruMap } from '../lru-map.js';
import { dedicatedCollectionName } from './collection-name.js';
import { COLLECTIONS_PATH, type CollectionSpec } from './collections.js';
import { ownerWhere, type Owner } from './owner.js';
import { besideWrites, copyOwnerRecords, type BackgroundCopyOptions } from './owner-migration.js';
import type { Route } from './owner-routes.js';
import type { RecordTurns } from './record-turns.js';
import { parseIds } from './responses.js';

/** What a move needs of the store it serves. */
export interface OwnerMoveSteps {
  /** The collection of the owner's bucket that queries read now. */
  bucketToRead(owner: Owner): Promise<string>;
  bucketSpec(): CollectionSpec;
  dedicatedSpec(owner: Owner): CollectionSpec;
  /** Removes the owner's records from their bucket, read fresh; `counted` as a bucket's removals are. */
  clearFromBucket(owner: Owner, counted: boolean): Promise<void>;
}

export interface OwnerMovesOptions extends BackgroundCopyOptions {
  /** The turns that the store's writes of a collection's records take (see addThenReplace). */
  readonly turns: RecordTurns;
  readonly steps: OwnerMoveSteps;
  /** An owner holding more vectors than this moves to a collection of their own. */
  readonly promoteAbove: number;
  /** Owners whose writes since their last size check are remembered. */
  readonly ownersRemembered: number;
}

/** Most writes an owner gets in this process between two checks of their size. */
const MAX_WRITES_BETWEEN_SIZE_CHECKS = 500;

/**
 * Moves owners who grew too large for a bucket to a collection of their own, beside their writes:
 * the route says migrating first, so every writer puts the owner's records in both collections
 * (see ChromaVectorStore.upsert), then dedicated once the copy is done, and after the grace the
 * owner is cleared from the bucket.
 */
export class OwnerMoves {
  readonly #options: OwnerMovesOptions;
  /** Owner key → writes seen here since their size was last checked. */
  readonly #writesSinceCheck: LruMap<string, number>;
  /** Moves under way in this process, by owner key; one that failed here starts again at the owner's next write, without waiting for it to look stalled. */
  readonly #moves = new KeyedRuns();
  /** A size check costs one small request: a few per promotion threshold keep the overshoot small. */
  readonly #checkEvery: number;

  constructor(options: OwnerMovesOptions) {
    this.#options = options;
    this.#writesSinceCheck = new LruMap(options.ownersRemembered);
    this.#checkEvery = Math.max(1, Math.min(MAX_WRITES_BETWEEN_SIZE_CHECKS, Math.floor(options.promoteAbove / 4)));
  }

  /** The moves under way in this process. */
  running(): Promise<void>[] {
    return this.#moves.running();
  }

  /** Forgets what this process knew of an erased owner. */
  forget(owner: Owner): void {
    this.#writesSinceCheck.delete(owner.key);
    this.#moves.forget(owner.key);
  }

  /**
   * After `written` records of the owner went out by `route`: promotes an owner who grew too large
   * for a bucket, starts again a move that stalled or failed here, and clears the owner from their
   * bucket once a move's grace is over.
   */
  async afterWrite(owner: Owner, written: number, route: Route): Promise<void> {
    if (route.kind === 'dedicated') {
      if (!route.cleared && Date.now() - route.since > this.#options.graceMs) {
        await this.#options.steps.clearFromBucket(owner, true);
        await this.#options.routes.set(owner.key, owner.tenantId, owner.userId, { ...route, cleared: true });
        // A write that confirmed the route before it was cleared may have reached the bucket
        // since; one that confirms it after drops its own copies there (see ChromaVectorStore).
        await this.#options.steps.clearFromBucket(owner, false);
      }
      return;
    }
    if (route.kind === 'migrating') {
      // The copy is idempotent, and a move started again records a new start.
      if (this.#moves.failed(owner.key) || Date.now() - route.since > this.#options.stalledMs) this.#start(owner);
      return;
    }
    // Counted per process: an owner growing through another process is checked there, and one
    // who is already large is checked here after a few more writes.
    const count = (this.#writesSinceCheck.get(owner.key) ?? 0) + written;
    if (count < this.#checkEvery) {
      this.#writesSinceCheck.set(owner.key, count);
      return;
    }
    this.#writesSinceCheck.set(owner.key, 0);
    if (await this.#holdsMoreThan(owner, this.#options.promoteAbove)) this.#start(owner);
  }

  async #holdsMoreThan(owner: Owner, limit: number): Promise<boolean> {
    const { collections, steps } = this.#options;
    const answer = await collections.post(await steps.bucketToRead(owner), steps.bucketSpec(), false, 'get', {
      where: ownerWhere(owner),
      include: [],
      limit: 1,
      offset: limit,
    });
    return answer !== null && parseIds(answer).length > 0;
  }

  /**
   * Starts an owner's move unless one is under way here; another process may run the same one,
   * harmlessly. The write that started it does not wait: the copy takes seconds for thousands of
   * vectors. A move that fails is logged and starts again at the owner's next write.
   */
  #start(owner: Owner): void {
    this.#moves.start(
      owner.key,
      () => this.#move(owner),
      (error) => this.#options.logger.warn({ err: error, owner: owner.key.slice(0, 12) }, 'moving an owner to a dedicated collection failed; their next write tries again'),
    );
  }

  async #move(owner: Owner): Promise<void> {
    const { routes, collections, steps } = this.#options;
    const began = performance.now();
    // Another process may have moved the owner since this one read their route.
    if ((await routes.confirmOwner(owner.key)).kind === 'dedicated') return;
    await routes.set(owner.key, owner.tenantId, owner.userId, { kind: 'migrating', since: Date.now() });
    const target = await collections.ensure(dedicatedCollectionName(owner.key), steps.dedicatedSpec(owner));
    const bucketId = (await collections.ensure(await steps.bucketToRead(owner), steps.bucketSpec())).id;
    const copied = await copyOwnerRecords({
      http: besideWrites(this.#options.http),
      sourcePath: `${COLLECTIONS_PATH}/${bucketId}`,
      ownerWhere: ownerWhere(owner),
      targetPath: `${COLLECTIONS_PATH}/${target.id}`,
      inTurn: (ids, work) => this.#options.turns.run(dedicatedCollectionName(owner.key), ids, work),
      pageSize: this.#options.pageSize,
      maxPasses: this.#options.maxPasses,
      stillMigrating: async () => (await routes.confirmOwner(owner.key)).kind === 'migrating',
    });
    // The owner may have been erased meanwhile: then the registry no longer holds them. A copy
    // that stopped (null) leaves the collection to the move that made it stop.
    const now = await routes.confirmOwner(owner.key);
    if (copied === null || now.kind !== 'migrating') {
      if (now.kind === 'bucket') await collections.drop(dedicatedCollectionName(owner.key));
      return;
    }
    await routes.set(owner.key, owner.tenantId, owner.userId, { kind: 'dedicated', since: Date.now(), cleared: false });
    this.#options.logger.info(
      { owner: owner.key.slice(0, 12), vectors: copied, ms: Math.round(performance.now() - began) },
      'owner moved to a dedicated collection',
    );
  }
}
