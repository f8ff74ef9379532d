import { ownerKey } from './collection-name.js';
import { OWNER_KEY } from './record-metadata.js';
import type { Where } from './where-clause.js';

/** A tenant's user, whose vectors share a key: their records' id prefix and metadata. */
export interface Owner {
  readonly key: string;
  readonly tenantId: string;
  readonly userId: string;
}

export function toOwner(tenantId: string, userId: string): Owner {
  return { key: ownerKey(tenantId, userId), tenantId, userId };
}

/** A filter on the owner's records of a shared collection. */
export function ownerWhere(owner: Owner): Where {
  return { [OWNER_KEY]: { $eq: owner.key } };
}
