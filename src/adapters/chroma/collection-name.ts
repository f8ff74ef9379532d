import { createHash } from 'node:crypto';

/** Holds which embedding model the stored vectors belong to; it never holds records. */
export const MODEL_MARKER_COLLECTION = 'engram_meta';

/**
 * The collection of one (tenant, user). A hash keeps the name within Chroma's rules (3-63 of
 * [a-zA-Z0-9._-]) whatever the ids contain, and the NUL separator keeps ("a", "bc") and ("ab", "c")
 * apart, so another tenant's vectors are not reachable under any user id.
 */
export function userCollectionName(tenantId: string, userId: string): string {
  const digest = createHash('sha256').update(`${tenantId}\u0000${userId}`).digest('hex');
  return `u${digest.slice(0, 40)}`;
}
