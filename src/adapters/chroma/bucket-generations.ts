/**
 * A bucket's generations. Chroma keeps every record removed from a collection in its vector index
 * for good, and every later insert and query walks past it; a bucket whose index is mostly removed
 * records is rebuilt: its live records are copied to a new collection, its next generation, and
 * the old one is dropped. Generation 0 is the bucket's first collection, named as before
 * generations existed.
 *
 * - `stable`: the generation's collection is the bucket;
 * - `rebuilding`: its records are being copied to the next generation; the generation's
 *   collection is still complete, and writers put records in both;
 * - `rebuilt`: the generation's collection is complete and read. Until `cleared`, writes also go
 *   to the previous generation, so a process whose routing table is not yet refreshed still reads
 *   complete results there; once cleared, the previous one is dropped.
 */
export type BucketState =
  | { readonly kind: 'stable'; readonly generation: number }
  | { readonly kind: 'rebuilding'; readonly generation: number; readonly since: number }
  | { readonly kind: 'rebuilt'; readonly generation: number; readonly since: number; readonly cleared: boolean };

export const FIRST_GENERATION: BucketState = { kind: 'stable', generation: 0 };

/**
 * How many records were removed from one generation of a bucket, as the processes that removed
 * them reported: an estimate, as two reports at once may overwrite each other. Kept in a record of
 * its own, so that a report never writes back a state that has moved on.
 */
export interface BucketRemovals {
  readonly generation: number;
  readonly removed: number;
}

/** One collection a bucket's records are written to; only the one read is made when missing. */
export interface GenerationWrite {
  readonly name: string;
  readonly create: boolean;
}

/** Routing records of buckets share the routes collection with owners' (64 hexadecimal digits). */
const BUCKET_RECORD_PREFIX = 'bucket:';
const REMOVALS_RECORD_PREFIX = 'removals:';
const STATE_KEY = 'state';
const GENERATION_KEY = 'generation';
const SINCE_KEY = 'since';
const CLEARED_KEY = 'cleared';
const REMOVED_KEY = 'removed';

export function bucketRecordId(bucket: string): string {
  return `${BUCKET_RECORD_PREFIX}${bucket}`;
}

export function removalsRecordId(bucket: string): string {
  return `${REMOVALS_RECORD_PREFIX}${bucket}`;
}

/** What a record of the routes collection holds, by its id. */
export function registryRecordKind(id: string): 'owner' | 'bucket' | 'removals' {
  if (id.startsWith(BUCKET_RECORD_PREFIX)) return 'bucket';
  return id.startsWith(REMOVALS_RECORD_PREFIX) ? 'removals' : 'owner';
}

/** The bucket a bucket state's record id names. */
export function bucketOfRecord(id: string): string {
  return id.slice(BUCKET_RECORD_PREFIX.length);
}

export function generationCollectionName(bucket: string, generation: number): string {
  return generation === 0 ? bucket : `${bucket}_g${generation}`;
}

/** The collection a bucket's queries read. */
export function collectionToRead(bucket: string, state: BucketState): string {
  return generationCollectionName(bucket, state.generation);
}

/** The collections a bucket's records are written to, the one copied from first. */
export function collectionsToWrite(bucket: string, state: BucketState): GenerationWrite[] {
  const read = { name: collectionToRead(bucket, state), create: true };
  if (state.kind === 'rebuilding') return [read, { name: generationCollectionName(bucket, state.generation + 1), create: false }];
  if (state.kind === 'rebuilt' && !state.cleared) return [{ name: generationCollectionName(bucket, state.generation - 1), create: false }, read];
  return [read];
}

export function bucketStateMetadata(state: BucketState): Map<string, string | number | boolean> {
  return new Map<string, string | number | boolean>([
    [STATE_KEY, state.kind],
    [GENERATION_KEY, state.generation],
    [SINCE_KEY, state.kind === 'stable' ? 0 : state.since],
    [CLEARED_KEY, state.kind === 'rebuilt' && state.cleared],
  ]);
}

export function removalsMetadata(removals: BucketRemovals): Map<string, string | number | boolean> {
  return new Map<string, string | number | boolean>([
    [GENERATION_KEY, removals.generation],
    [REMOVED_KEY, removals.removed],
  ]);
}

export function toBucketState(metadata: Readonly<Record<string, unknown>>): BucketState {
  const generation = Math.floor(nonNegative(metadata, GENERATION_KEY));
  const since = nonNegative(metadata, SINCE_KEY);
  if (metadata[STATE_KEY] === 'rebuilding') return { kind: 'rebuilding', generation, since };
  if (metadata[STATE_KEY] === 'rebuilt') return { kind: 'rebuilt', generation, since, cleared: metadata[CLEARED_KEY] === true };
  return { kind: 'stable', generation };
}

export function toBucketRemovals(metadata: Readonly<Record<string, unknown>>): BucketRemovals {
  return { generation: Math.floor(nonNegative(metadata, GENERATION_KEY)), removed: nonNegative(metadata, REMOVED_KEY) };
}

function nonNegative(metadata: Readonly<Record<string, unknown>>, key: string): number {
  const value = metadata[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}
