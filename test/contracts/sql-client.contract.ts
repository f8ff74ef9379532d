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

/**
 * Prepared statements as every SqlClient must run them: the rows are those of the same statement
 * unprepared, for every set of values (text, numbers, arrays, null, timestamps), and a failure
 * leaves the statement usable and every other statement unharmed. Creates `table`.
 */
export async function assertPreparedStatements(client: SqlClient, table: string): Promise<void> {
  await client.query(`CREATE TABLE ${table} (id text PRIMARY KEY, n int NOT NULL, at timestamptz)`);
  await client.query(
    `INSERT INTO ${table} VALUES ('a', 1, '2025-01-01T00:00:00Z'), ('b', 2, NULL), ('c', 3, '2025-03-01T00:00:00Z')`,
  );
  const select = `SELECT id, n, at FROM ${table} WHERE id = ANY($1::text[]) AND n >= $2 AND (at IS NULL OR at > $3::timestamptz) ORDER BY id`;
  const both = async (params: readonly unknown[]): Promise<unknown[]> => {
    const prepared = await client.transactionOf([{ text: select, params, prepare: true }]);
    assert.deepEqual(prepared, await client.transactionOf([{ text: select, params }]));
    return prepared;
  };
  assert.deepEqual(await both([['a', 'b', 'c'], 2, new Date('2025-02-01T00:00:00Z')]), [
    { id: 'b', n: 2, at: null },
    { id: 'c', n: 3, at: new Date('2025-03-01T00:00:00Z') },
  ]);
  assert.deepEqual(await both([['a'], 0, new Date('2024-01-01T00:00:00Z')]), [{ id: 'a', n: 1, at: new Date('2025-01-01T00:00:00Z') }]);
  assert.deepEqual(await both([[], 0, null]), []);

  // A failure while running it: the statement stays prepared and usable.
  const divide = `SELECT 10 / $1::int AS quotient`;
  await assert.rejects(client.transactionOf([{ text: divide, params: [0], prepare: true }]), { code: '22012' });
  assert.deepEqual(await client.transactionOf([{ text: divide, params: [5], prepare: true }]), [{ quotient: 2 }]);
  // A statement that cannot be prepared fails each time, and harms no other statement.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await assert.rejects(client.transactionOf([{ text: `SELEC id FROM ${table}`, params: [], prepare: true }]), { code: '42601' });
  }
  assert.deepEqual(await client.transactionOf([{ text: divide, params: [2], prepare: true }]), [{ quotient: 5 }]);
  // Postgres plans it again when the table changes.
  await client.query(`ALTER TABLE ${table} ADD COLUMN note text`);
  await client.query(`DELETE FROM ${table} WHERE id = 'c'`);
  assert.deepEqual(await both([['a', 'b', 'c'], 2, null]), [{ id: 'b', n: 2, at: null }]);
}
