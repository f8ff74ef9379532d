import type { MetadataValue } from '../../domain/memory.js';
import type { VectorRecord } from '../../ports/vector-store.js';
import { ownerKey } from './collection-name.js';

export const TENANT_ID_KEY = 'tenant_id';
/** The owner key (a hash of tenant and user): bucket queries filter on this one indexed value. */
export const OWNER_KEY = 'owner';
export const USER_ID_KEY = 'user_id';
export const SESSION_ID_KEY = 'session_id';
export const ROLE_KEY = 'role';
/** Epoch milliseconds. */
export const CREATED_AT_KEY = 'created_at';
/** What a record holds, in short (see record-digest.ts): a writer reads it back to tell whose record landed. */
export const DIGEST_KEY = 'digest';

/** A memory's own metadata keys live under a prefix, so they can never shadow Engram's keys. */
export function metadataKey(key: string): string {
  return `m.${key}`;
}

/** What Chroma keeps next to a vector: enough to filter and to rebuild the owner for repair. */
export function recordMetadata(record: VectorRecord): Map<string, MetadataValue> {
  const metadata = new Map<string, MetadataValue>([
    [OWNER_KEY, ownerKey(record.tenantId, record.userId)],
    [TENANT_ID_KEY, record.tenantId],
    [USER_ID_KEY, record.userId],
    [SESSION_ID_KEY, record.sessionId],
    [ROLE_KEY, record.role],
    [CREATED_AT_KEY, record.createdAt.getTime()],
  ]);
  for (const [key, value] of Object.entries(record.metadata)) metadata.set(metadataKey(key), value);
  return metadata;
}
