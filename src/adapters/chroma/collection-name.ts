import { createHash } from 'node:crypto';

/** Holds which embedding model the stored vectors belong to, and the bucket count; it never holds records. */
export const MODEL_MARKER_COLLECTION = 'engram_meta';

/**
 * Created, never written to, by the first deployment to bind the Chroma: its metadata names that
 * deployment's store, and Chroma keeps a collection's first creator's metadata, so two first starts
 * at once cannot both take it (the marker's metadata can only be replaced whole, with no test).
 */
export const STORE_CLAIM_COLLECTION = 'engram_store_claim';

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
 * bucket it touches, and most of a request's cost is fixed: Chroma 1.0 spent 11-12 ms of CPU on an
 * upsert of one record, 16 on 4, 25 on 16 (sequential requests, 576 dimensions). A steady stream
 * of single writes from many users touches nearly every bucket in each run. 100k memories of
 * 1,000 users, embedded, one run each on one machine (`npm run bench`), 2 / 4 / 8 buckets (8 twice):
 * 202 to searchable p50 113 / 218 / 435 and 355 ms (p95 322 / 354 / 781 and 711), batched ingest
 * 315 / 311 / 251 and 254 memories/s; the raw Chroma query p50 2.83 / 2.57 / 1.88 and 2.44 ms,
 * searches with 8 clients 194 / 183 / 187 and 163 per second.
 */
export const DEFAULT_BUCKETS = 2;

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
