import type { ApiKeyRecord } from '../../domain/api-key.js';
import { DomainError } from '../../domain/errors.js';
import type { ApiKeyRepository, NewApiKey, StoredApiKey } from '../../ports/metadata-store.js';
import type { SqlClient } from './sql-client.js';
import { toDate, toDateOrNull } from './values.js';

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string | null;
  created_at: unknown;
  last_used_at: unknown;
  revoked_at: unknown;
}

const RECORD_COLUMNS = 'id, tenant_id, name, created_at, last_used_at, revoked_at';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDateOrNull(row.last_used_at),
    revokedAt: toDateOrNull(row.revoked_at),
  };
}

/** Keys are looked up before any tenant is known, so this table is not row-scoped. */
export class SqlApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly client: SqlClient) {}

  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    const rows = await this.client.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, tenant_id, name, secret_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING
       RETURNING ${RECORD_COLUMNS}`,
      [key.id, key.tenantId, key.name, key.secretHash],
    );
    const row = rows[0];
    if (row === undefined) {
      throw new DomainError('conflict', 'api_key_exists', `an API key with id "${key.id}" exists already`);
    }
    return toRecord(row);
  }

  async ensure(key: NewApiKey): Promise<void> {
    await this.client.query(
      `INSERT INTO api_keys (id, tenant_id, name, secret_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING`,
      [key.id, key.tenantId, key.name, key.secretHash],
    );
  }

  async findActive(id: string): Promise<StoredApiKey | null> {
    const rows = await this.client.query<ApiKeyRow & { secret_hash: Uint8Array }>(
      `SELECT ${RECORD_COLUMNS}, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) return null;
    return { record: toRecord(row), secretHash: Buffer.from(row.secret_hash) };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.client.query<ApiKeyRow>(`SELECT ${RECORD_COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  async revoke(id: string): Promise<boolean> {
    const rows = await this.client.query(
      'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING 1',
      [id],
    );
    return rows.length > 0;
  }

  async touch(id: string, at: Date): Promise<void> {
    // Concurrent requests may report out of order; the latest use is what is kept.
    await this.client.query(
      `UPDATE api_keys SET last_used_at = $2
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
      [id, at],
    );
  }
}
