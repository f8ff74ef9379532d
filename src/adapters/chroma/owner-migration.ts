import type { MetadataValue } from '../../domain/memory.js';
import type { Logger } from '../../ports/logger.js';
import { resting } from '../../support/resting.js';
import type { ChromaHttp, ChromaRequest } from './chroma-http.js';
import type { Collections } from './collections.js';
import type { OwnerRoutes } from './owner-routes.js';
import { addThenReplace, collectionWrites, type InTurn } from './add-then-replace.js';
import { withDigest } from './record-digest.js';
import { parseGetAnswer } from './responses.js';
import { float32ToBase64 } from '../../support/float32-bytes.js';
import { encodeStoredRecords, type StoredRecord } from './upsert-body.js';
import { VectorStoreError } from './errors.js';

/**
 * A copy beside writes rests after each of its requests as long as the request took, leaving
 * Chroma to the writers half the time (see besideWrites). Scratch drivers on a Chroma of their own
 * (one bucket, 512 dimensions, single writes of new owners at 20 a second beside the copy until it
 * ended, each case twice, alternated):
 * - a bucket of 10,000 records rebuilt: without rests the copy took 8-9 s, the writes beside it p50
 *   38-43 ms and p95 352-393 (11 a second got through); with them it took 14-15 s, the writes
 *   17-20 and 105-108 (all 20 a second). Resting twice as long: p95 81-97 ms, a copy of 22-26 s;
 * - an owner of 5,600 records moved: without rests 5.2-5.6 s, the writes p50 49-57 ms and p95
 *   482-511 (10 a second); with them 8.6-10.3 s, 9.4-11.7 and 69-85 (20 a second).
 */
const COPY_REST_PER_BUSY = 1;

/** `http` for a copy that runs beside writes: each request, once answered, rests as long as it took. */
export function besideWrites(http: Pick<ChromaHttp, 'send'>): Pick<ChromaHttp, 'send'> {
  return { send: resting((request: ChromaRequest) => http.send(request), COPY_REST_PER_BUSY) };
}

/** What the store's copies beside its writes (an owner's move, a bucket's rebuild) share with it. */
export interface BackgroundCopyOptions {
  readonly http: ChromaHttp;
  readonly logger: Logger;
  readonly collections: Collections;
  readonly routes: OwnerRoutes;
  /** How long writes still reach the collection copied from once the copy is read, for processes whose table is older. */
  readonly graceMs: number;
  /** A copy still unfinished this long after it began was cut short: a later write starts it again. */
  readonly stalledMs: number;
  /** Records per request of the copy. */
  readonly pageSize: number;
  /** Copy passes at most (see copyOwnerRecords, copyToNewCollection). */
  readonly maxPasses: number;
}

/** Where records are read from and written to during a copy. */
export interface CopyEnds {
  readonly http: Pick<ChromaHttp, 'send'>;
  /** The path of the collection copied from: a bucket, or a bucket's generation being rebuilt. */
  readonly sourcePath: string;
  /** The owner's records of the source; null for all of them (a bucket rebuilt, see BucketState). */
  readonly ownerWhere: Readonly<Record<string, unknown>> | null;
  /** The path of the collection copied to (an owner's own, or the next generation): records are added, replaced, looked up and deleted there. */
  readonly targetPath: string;
  /** Records per request. */
  readonly pageSize: number;
  /** Copy passes at most: a copy whose last pass still found changes gives up (see copyOwnerRecords, copyToNewCollection). */
  readonly maxPasses: number;
  /** Whether the owner's route still says migrating (the bucket's state, rebuilding): read before each pass, which is skipped otherwise. */
  readonly stillMigrating: () => Promise<boolean>;
}

/** Where an owner's records are read from and written to during a migration. */
export interface MigrationEnds extends CopyEnds {
  /** The turn of target records that the copy's writes run in (see addThenReplace). */
  readonly inTurn: InTurn;
}

/** A copy that ended its passes with records still changing: the move starts again later. */
export class MigrationUnsettledError extends VectorStoreError {
  constructor(passes: number) {
    super(`records still changed after ${passes} copy passes; the move or rebuild starts again at the next write`, { retryable: true });
  }
}

/**
 * Copies one owner's records from a bucket to their dedicated collection, idempotently, once the
 * route says the owner is migrating. From then on every writer puts the owner's records in both
 * collections: by the route it looked up, or again after confirming the route once it wrote (see
 * ChromaVectorStore.upsert). The copy only has to bring what was there before, and to undo its own
 * stale writes: a record read here, then changed or removed by a writer before the copy's upsert
 * lands, would be put back as it was. So the copy reads the source again and repeats for the
 * records it had read that changed or vanished since, until none did. A record that appears in a
 * later read was written after the route changed; it is copied only if the target lacks it (a
 * write still under way, or one that a page shifted by a concurrent delete hid from an earlier
 * read). An owner still being written to at hundreds a second thus moves in two reads of the
 * source, where waiting for two reads that agree in full would copy the new records over and over.
 *
 * Every pass's writes are checked by the read after it: a copy that still finds changes after
 * `maxPasses` passes throws MigrationUnsettledError, as its last writes may be stale (the bucket
 * stays the owner's whole truth meanwhile). A copy whose owner's route no longer says migrating
 * (another process's move of the same owner ended, or the owner was erased) stops before its next
 * pass and answers null: records of a bucket cleared by that move would otherwise look vanished.
 */
export async function copyOwnerRecords(ends: MigrationEnds): Promise<number | null> {
  const target = collectionWrites((endpoint, body) => sendToTarget(ends, endpoint, body));
  let previous: ReadonlyMap<string, string> | null = null;
  let current = await readSource(ends);
  for (let pass = 0; ; pass += 1) {
    const changed = previous === null ? [...current.records.values()] : await toCopyAgain(ends, previous, current);
    const vanished = previous === null ? [] : [...previous.keys()].filter((id) => !current.records.has(id));
    if (previous !== null && changed.length === 0 && vanished.length === 0) return current.records.size;
    if (pass === ends.maxPasses) throw new MigrationUnsettledError(pass);
    if (!(await ends.stillMigrating())) return null;
    for (let start = 0; start < changed.length; start += ends.pageSize) {
      await addThenReplace(changed.slice(start, start + ends.pageSize).map(withDigest), target, ends.inTurn);
    }
    for (let start = 0; start < vanished.length; start += ends.pageSize) {
      await sendToTarget(ends, 'delete', { ids: vanished.slice(start, start + ends.pageSize) });
    }
    previous = current.fingerprints;
    current = await readSource(ends);
  }
}

/**
 * Copies every record of the source to a collection made for the copy (a bucket's next
 * generation), once the state says so and every writer puts its records in both: writers then
 * keep the target up to date themselves, with addThenReplace. So the copy only adds, never
 * replaces: a record the target holds came from a writer and is at least as new as the copy's.
 * What it must undo is an add of a record that a writer removed after the copy read it and before
 * the add landed: the next read of the source tells (the record is gone), and the copy removes it
 * from the target. It also adds records new in a read that the target lacks (a write still under
 * way). The copy is over once a read finds none of its last adds gone and nothing to add; each
 * pass only checks its own adds, so a stream of writes and removals does not keep it going.
 */
export async function copyToNewCollection(ends: CopyEnds): Promise<number | null> {
  let current = await readSource(ends);
  let toAdd = [...current.records.values()];
  let toRemove: string[] = [];
  for (let pass = 0; ; pass += 1) {
    if (toAdd.length === 0 && toRemove.length === 0) return current.records.size;
    if (pass === ends.maxPasses) throw new MigrationUnsettledError(pass);
    if (!(await ends.stillMigrating())) return null;
    for (let start = 0; start < toAdd.length; start += ends.pageSize) {
      await sendToTarget(ends, 'add', encodeStoredRecords(toAdd.slice(start, start + ends.pageSize).map(withDigest)));
    }
    for (let start = 0; start < toRemove.length; start += ends.pageSize) {
      await sendToTarget(ends, 'delete', { ids: toRemove.slice(start, start + ends.pageSize) });
    }
    const previous = current;
    current = await readSource(ends);
    toRemove = toAdd.map((record) => record.id).filter((id) => !current.records.has(id));
    toAdd = await missingFromTarget(
      ends,
      [...current.records.values()].filter((record) => !previous.records.has(record.id)),
    );
  }
}

/** Records of the last read that the copy writes again: those read before that changed since, and new ones the target lacks. */
async function toCopyAgain(ends: CopyEnds, seen: ReadonlyMap<string, string>, current: SourceState): Promise<StoredRecord[]> {
  const records = [...current.records.values()];
  const changed = records.filter((record) => seen.has(record.id) && seen.get(record.id) !== current.fingerprints.get(record.id));
  const appeared = records.filter((record) => !seen.has(record.id));
  return [...changed, ...(await missingFromTarget(ends, appeared))];
}

function sendToTarget(ends: CopyEnds, suffix: 'add' | 'upsert' | 'delete' | 'get', body: unknown): Promise<unknown> {
  return ends.http.send({ method: 'POST', path: `${ends.targetPath}/${suffix}`, body });
}

/** Those of `records` whose id the target does not hold. */
async function missingFromTarget(ends: CopyEnds, records: readonly StoredRecord[]): Promise<StoredRecord[]> {
  const held = new Set<string>();
  for (let start = 0; start < records.length; start += ends.pageSize) {
    const ids = records.slice(start, start + ends.pageSize).map((record) => record.id);
    for (const id of await heldByTarget(ends, ids)) held.add(id);
  }
  return records.filter((record) => !held.has(record.id));
}

/** Those of `ids` (a page at most) that the target holds. */
async function heldByTarget(ends: CopyEnds, ids: readonly string[]): Promise<readonly string[]> {
  return parseGetAnswer(await sendToTarget(ends, 'get', { ids, include: [] })).ids;
}

interface SourceState {
  readonly records: Map<string, StoredRecord>;
  /** id → the record's content as text, to tell whether it changed between two reads. */
  readonly fingerprints: Map<string, string>;
}

async function readSource(ends: CopyEnds): Promise<SourceState> {
  const records = new Map<string, StoredRecord>();
  const fingerprints = new Map<string, string>();
  for (let offset = 0; ; offset += ends.pageSize) {
    const answer = await ends.http.send({
      method: 'POST',
      path: `${ends.sourcePath}/get`,
      body: { ...(ends.ownerWhere === null ? {} : { where: ends.ownerWhere }), include: ['embeddings', 'metadatas'], limit: ends.pageSize, offset },
    });
    const page = parseGetAnswer(answer);
    page.ids.forEach((id, index) => {
      const embedding = page.embeddings[index] ?? new Float32Array();
      const metadata = toMetadataMap(page.metadatas[index] ?? {});
      records.set(id, { id, embedding, metadata });
      fingerprints.set(id, fingerprint(embedding, metadata));
    });
    if (page.ids.length < ends.pageSize) return { records, fingerprints };
  }
}

/**
 * A record's content as text. Chroma hands a record's metadata back in no fixed key order (it
 * changes when its log is compacted into segments), so the keys are sorted: otherwise an unchanged
 * record would look changed, and a migration would copy every record again on every pass.
 */
function fingerprint(embedding: Float32Array, metadata: ReadonlyMap<string, MetadataValue>): string {
  const fields = [...metadata].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  return `${float32ToBase64(embedding)}|${JSON.stringify(fields)}`;
}

function toMetadataMap(metadata: Readonly<Record<string, unknown>>): Map<string, MetadataValue> {
  const map = new Map<string, MetadataValue>();
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') map.set(key, value);
  }
  return map;
}
