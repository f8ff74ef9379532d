import { DomainError } from '../../domain/errors.js';
import type { SqlClient } from './sql-client.js';

const SETTING = 'store_id';

/**
 * The store's id: a random one the first process to ask records, which every later one reads. A
 * copy of the database (a restored backup) keeps it.
 */
export async function storeIdentity(client: SqlClient): Promise<string> {
  await client.query(
    `INSERT INTO engram_settings (key, value) VALUES ($1, to_jsonb(gen_random_uuid()::text)) ON CONFLICT (key) DO NOTHING`,
    [SETTING],
  );
  const rows = await client.query<{ value: unknown }>('SELECT value FROM engram_settings WHERE key = $1', [SETTING]);
  const id = rows[0]?.value;
  if (typeof id !== 'string') throw new DomainError('internal', 'store_identity_lost', 'the store identity was not stored');
  return id;
}
