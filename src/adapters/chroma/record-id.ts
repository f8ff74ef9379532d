/** 128 bits of the owner key in front of each record id. */
const OWNER_ID_PREFIX_LENGTH = 32;

/**
 * Record ids carry their owner: memory ids are only unique within a tenant, and a bucket holds
 * many tenants. The same id in a dedicated collection lets a migration copy records as they are.
 */
export function storedRecordId(ownerKey: string, memoryId: string): string {
  return `${ownerKey.slice(0, OWNER_ID_PREFIX_LENGTH)}:${memoryId}`;
}

/** The memory id inside a record id. */
export function memoryIdOfRecord(stored: string): string {
  return stored.slice(OWNER_ID_PREFIX_LENGTH + 1);
}
