import type { SqlClient } from './sql-client.js';

/** The JSON value recorded under `key` in engram_settings; null when there is none. */
export async function readSetting<T>(client: SqlClient, key: string): Promise<T | null> {
  const rows = await client.query<{ value: T }>('SELECT value FROM engram_settings WHERE key = $1', [key]);
  return rows[0]?.value ?? null;
}

/**
 * Records `value` under `key` unless a value is there already, and answers the one that is: the
 * first process to record wins, and every later one, at once or not, reads what it recorded.
 */
export async function recordOnce<T>(client: SqlClient, key: string, value: T): Promise<T | null> {
  await client.query('INSERT INTO engram_settings (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO NOTHING', [key, JSON.stringify(value)]);
  return readSetting<T>(client, key);
}
