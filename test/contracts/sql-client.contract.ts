import assert from 'node:assert/strict';
import type { SqlClient, SqlStatement } from '../../src/adapters/sql/sql-client.js';

/**
 * `transactionOf` as every SqlClient must run it, on a client whose statements share one session
 * (PGlite, or a pool of one): the statements form one transaction, a setting of the first is seen
 * by the last, a failure undoes them all, and nothing outlives the transaction; the same whether
 * the statements are prepared or not. Creates `table` and `table`_prepared.
 */
export async function assertTransactionOf(client: SqlClient, table: string): Promise<void> {
  for (const prepare of [false, true]) {
    const name = prepare ? `${table}_prepared` : table;
    await client.query(`CREATE TABLE ${name} (id text PRIMARY KEY)`);
    const rows = await client.transactionOf<{ tenant: string }>([
      { text: "SELECT set_config('engram.probe', $1, true)", params: ['tenant-a'], prepare },
      { text: `INSERT INTO ${name} VALUES ('given-up-front')`, params: [], prepare },
      { text: "SELECT current_setting('engram.probe') AS tenant", params: [], prepare },
    ]);
    assert.deepEqual(rows, [{ tenant: 'tenant-a' }]);
    const insert = `INSERT INTO ${name} VALUES ($1)`;
    const divide = 'SELECT 1 / $1::int AS quotient';
    await assert.rejects(
      client.transactionOf([
        { text: insert, params: ['undone'], prepare },
        { text: 'SELECT * FROM missing_table', params: [], prepare },
      ]),
      { code: '42P01' },
    );
    // The same texts once with success (which prepares them on the connection), then failing at run time.
    assert.deepEqual(
      await client.transactionOf([
        { text: insert, params: ['kept'], prepare },
        { text: divide, params: [1], prepare },
      ]),
      [{ quotient: 1 }],
    );
    await assert.rejects(
      client.transactionOf([
        { text: insert, params: ['undone'], prepare },
        { text: divide, params: [0], prepare },
      ]),
      { code: '22012' },
    );
    // A failure of the commit itself: a unique key checked only then.
    const deferred = `${name}_deferred`;
    await client.query(`CREATE TABLE ${deferred} (id text, UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`);
    await assert.rejects(
      client.transactionOf([
        { text: `INSERT INTO ${deferred} VALUES ($1)`, params: ['twice'], prepare },
        { text: `INSERT INTO ${deferred} VALUES ($1)`, params: ['twice'], prepare },
      ]),
      { code: '23505' },
    );
    assert.deepEqual(await client.query(`SELECT id FROM ${deferred}`), []);
    assert.deepEqual(await client.query(`SELECT id FROM ${name} ORDER BY id`), [{ id: 'given-up-front' }, { id: 'kept' }]);
    // The setting was local to its transaction.
    assert.deepEqual(await client.query("SELECT current_setting('engram.probe', true) AS tenant"), [{ tenant: '' }]);
  }
}

/**
 * A `transactionOf` sent while another caller's transaction is open waits for it rather than
 * running inside it: it never sees that transaction's uncommitted (here rolled back) row.
 */
export async function assertTransactionOfWaitsForOpenTransaction(client: SqlClient, table: string): Promise<void> {
  await client.query(`CREATE TABLE ${table} (id text PRIMARY KEY)`);
  let opened = (): void => undefined;
  const isOpen = new Promise<void>((resolve) => (opened = resolve));
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const open = client.transaction(async (tx) => {
    await tx.query(`INSERT INTO ${table} VALUES ('uncommitted')`);
    opened();
    await released;
    throw new Error('rolled back on purpose');
  });
  await isOpen;
  const count = `SELECT count(*)::int AS found FROM ${table} WHERE id = $1`;
  const reads = [false, true].map((prepare) => client.transactionOf([{ text: count, params: ['uncommitted'], prepare }]));
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  await assert.rejects(open, /rolled back on purpose/);
  assert.deepEqual(await Promise.all(reads), [[{ found: 0 }], [{ found: 0 }]]);
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
  const both = async (params: readonly unknown[], text = select): Promise<unknown[]> => {
    const prepared = await client.transactionOf([{ text, params, prepare: true }]);
    assert.deepEqual(prepared, await client.transactionOf([{ text, params }]));
    return prepared;
  };
  assert.deepEqual(await both([['a', 'b', 'c'], 2, new Date('2025-02-01T00:00:00Z')]), [
    { id: 'b', n: 2, at: null },
    { id: 'c', n: 3, at: new Date('2025-03-01T00:00:00Z') },
  ]);
  assert.deepEqual(await both([['a'], 0, new Date('2024-01-01T00:00:00Z')]), [{ id: 'a', n: 1, at: new Date('2025-01-01T00:00:00Z') }]);
  assert.deepEqual(await both([[], 0, null]), []);
  const typed = `SELECT $1::int AS n, $2::bool AS flag, $3::float8 AS x, $4::jsonb AS doc, $5::text[] AS words, $6::text AS nothing`;
  assert.deepEqual(await both([7, true, 0.25, { a: [1, 'b'] }, ['x', 'y z'], null], typed), [
    { n: 7, flag: true, x: 0.25, doc: { a: [1, 'b'] }, words: ['x', 'y z'], nothing: null },
  ]);

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

/**
 * `readEach` as every SqlClient must run it, prepared or not: each statement sees the prefix's
 * settings and gets its own rows; an earlier statement's answer does not wait for a later, slow
 * one; a failing statement rejects with its error, and those before it keep their rows. Prepared
 * statements run three times: a client may prepare them the first time and run them otherwise
 * once prepared.
 */
export async function assertReadEach(client: SqlClient): Promise<void> {
  assert.deepEqual(client.readEach([], []), []);
  for (const prepare of [false, true, true, true]) {
    const prefix = [{ text: "SELECT set_config('engram.probe', $1, true)", params: ['tenant-b'], prepare }];
    const started = performance.now();
    const answeredAt = (answer: Promise<unknown[]>): Promise<number> => answer.then(() => performance.now() - started);
    const [first, slow] = client.readEach(prefix, [
      { text: "SELECT current_setting('engram.probe') AS tenant", params: [], prepare },
      { text: "SELECT pg_sleep(0.5)::text AS slept, current_setting('engram.probe') AS tenant", params: [], prepare },
    ]);
    assert.ok(first !== undefined && slow !== undefined);
    const [firstAt, slowAt] = await Promise.all([answeredAt(first), answeredAt(slow)]);
    assert.deepEqual(await first, [{ tenant: 'tenant-b' }]);
    assert.deepEqual(await slow, [{ slept: '', tenant: 'tenant-b' }]);
    assert.ok(slowAt - firstAt > 250, `the first answer came ${Math.round(slowAt - firstAt)} ms before the slow one, not half a second`);

    const division = (divisor: number): SqlStatement[] => [
      { text: 'SELECT 1 AS one', params: [], prepare },
      { text: 'SELECT 1 / $1::int AS quotient', params: [divisor], prepare },
    ];
    // Run once to succeed, so that a client that prepares them has both prepared when one fails.
    assert.deepEqual(await Promise.all(client.readEach(prefix, division(1))), [[{ one: 1 }], [{ quotient: 1 }]]);
    const [before, failing] = client.readEach(prefix, division(0));
    assert.ok(before !== undefined && failing !== undefined);
    void failing.catch(() => undefined);
    assert.deepEqual(await before, [{ one: 1 }]);
    await assert.rejects(failing, { code: '22012' });
    // Nothing outlives the statements: the setting was local to them.
    assert.deepEqual(await client.query("SELECT current_setting('engram.probe', true) AS tenant"), [{ tenant: '' }]);
  }
}
