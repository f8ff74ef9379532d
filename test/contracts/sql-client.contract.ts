import assert from 'node:assert/strict';
import type { SqlClient } from '../../src/adapters/sql/sql-client.js';

/**
 * `transactionOf` as every SqlClient must run it, on a client whose statements share one session
 * (PGlite, or a pool of one): the statements form one transaction, a setting of the first is seen
 * by the last, a failure undoes them all, and nothing outlives the transaction. Creates `table`.
 */
export async function assertTransactionOf(client: SqlClient, table: string): Promise<void> {
  await client.query(`CREATE TABLE ${table} (id text PRIMARY KEY)`);
  const rows = await client.transactionOf<{ tenant: string }>([
    { text: "SELECT set_config('engram.probe', $1, true)", params: ['tenant-a'] },
    { text: `INSERT INTO ${table} VALUES ('given-up-front')`, params: [] },
    { text: "SELECT current_setting('engram.probe') AS tenant", params: [] },
  ]);
  assert.deepEqual(rows, [{ tenant: 'tenant-a' }]);
  await assert.rejects(
    client.transactionOf([
      { text: `INSERT INTO ${table} VALUES ('undone')`, params: [] },
      { text: 'SELECT * FROM missing_table', params: [] },
    ]),
    { code: '42P01' },
  );
  assert.deepEqual(await client.query(`SELECT id FROM ${table} ORDER BY id`), [{ id: 'given-up-front' }]);
  // The setting was local to its transaction.
  assert.deepEqual(await client.query("SELECT current_setting('engram.probe', true) AS tenant"), [{ tenant: '' }]);
}
