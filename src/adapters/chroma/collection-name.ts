import { createHash } from 'node:crypto';

/** Holds which embedding model the stored vectors belong to, and the bucket count; it never holds records. */
export const MODEL_MARKER_COLLECTION = 'engram_meta';

/** One record per owner that has a dedicated collection: the routing table every process reads. */
export const ROUTES_COLLECTION = 'engram_routes';

/**
 * A stable key for one (tenant, user): the full SHA-256 of both, with a NUL separator that keeps
 * ("a", "bc") and ("ab", "c") apart. It is what bucket queries filter on, so another tenant's
 * vectors are not reachable under any user id.
 */
export function ownerKey(tenantId: string, userId: string): string {
  return createHash('sha256').update(`${tenantId}\u0000${userId}`).digest('hex');
}

/**
 * The dedicated collection of one (tenant, user), named after the owner key so it stays within
 * Chroma's rules (3-63 of [a-zA-Z0-9._-]) whatever the ids contain.
 */
export function userCollectionName(tenantId: string, userId: string): string {
  return dedicatedCollectionName(ownerKey(tenantId, userId));
}

export function dedicatedCollectionName(owner: string): string {
  return `u${owner.slice(0, 40)}`;
}

/**
 * Bucket collections of a store set up now. Each write run costs Chroma one upsert request per
 * bucket it touches (8-10 ms each, whatever the records), and each collection holds memory and
 * reserved disk of its own; a query's walk costs a little more in a larger bucket. 100k memories
 * of 1,000 users, embedded, two runs each on one machine in the order 8, 16, 16, 8 (`npm run
 * bench`), 8 buckets against 16: batched ingest 333 and 429 against 271 and 322 memories/s, 202
 * to searchable p95 115 and 113 against 436 and 217 ms, Chroma RSS 417 and 420 against 578 and
 * 573 MiB, the raw Chroma query p50 1.89 and 2.01 against 1.73 and 1.31 ms, searches with 8
 * clients 194 and 191 against 187 and 233/s.
 */
export const DEFAULT_BUCKETS = 8;

/** The marker's metadata key holding the bucket count a store was set up with. */
export const BUCKETS_KEY = 'engram_buckets';

/** The bucket count recorded in the marker's metadata, or `fallback` where none valid is. */
export function recordedBuckets(metadata: Readonly<Record<string, unknown>>, fallback: number): number {
  const recorded = metadata[BUCKETS_KEY];
  return typeof recorded === 'number' && Number.isInteger(recorded) && recorded > 0 ? recorded : fallback;
}

/**
 * The shared collection an owner's vectors live in until they get a collection of their own. The
 * count is part of the name, so stores that were ever set up with another count never mix.
 */
export function bucketCollectionName(owner: string, buckets: number): string {
  const index = Number.parseInt(owner.slice(0, 8), 16) % buckets;
  return `engram_b${buckets}_${index}`;
}
