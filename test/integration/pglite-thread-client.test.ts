import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { PgliteThreadClient } from '../../src/adapters/pglite/pglite-thread-client.js';
import {
  assertPreparedStatements,
  assertReadEach,
  assertTransactionOf,
  assertTransactionOfWaitsForOpenTransaction,
} from '../contracts/sql-client.contract.js';

describe('PGlite in a thread of its own', () => {
  let folder: string;
  let client: PgliteThreadClient;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'engram-pglite-thread-'));
    client = await PgliteThreadClient.start({ dataDir: join(folder, 'pgdata'), startParams: PGlite.defaultStartParams });
    await client.query('CREATE TABLE notes (id text PRIMARY KEY, body bytea, at timestamptz)');
  });
  after(async () => {
    await client.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('round-trips parameters and rows: text, bytes, times', async () => {
    const at = new Date('2025-05-01T12:00:00.000Z');
    await client.query('INSERT INTO notes VALUES ($1, $2, $3)', ['bytes', Buffer.from([0, 1, 254, 255]), at]);
    const [row] = await client.query<{ id: string; body: Uint8Array; at: Date }>('SELECT * FROM notes WHERE id = $1', ['bytes']);
    assert.ok(row);
    assert.deepEqual([...row.body], [0, 1, 254, 255]);
    assert.equal(row.at.toISOString(), at.toISOString());
  });

  it('reads the rows of statements answered each as it runs as PGlite reads them: every column type a search returns, arrays, nulls', async () => {
    const text = `SELECT 'a''b' AS words, 2.5::float8 AS score, 9007199254740993::int8 AS version, true AS flag,
                          '{"topic": "tea", "n": [1, 2]}'::jsonb AS metadata, '2025-05-01T12:00:00.123Z'::timestamptz AS at,
                          ARRAY['x', NULL, 'y "z"'] AS names, ARRAY[[1, 2], [3, 4]]::int4[] AS grid, '\\x00ff'::bytea AS body,
                          NULL::text AS nothing, $1::int AS asked`;
    const expected = await client.query(text, [7]);
    for (const prepare of [false, true, true]) {
      const [rows] = client.readEach([], [{ text, params: [7], prepare }]);
      assert.deepEqual(await rows, expected);
    }
    const [row] = expected as Array<Record<string, unknown>>;
    assert.ok(row);
    assert.equal(row['version'], 9007199254740993n);
    assert.deepEqual(row['names'], ['x', null, 'y "z"']);
    assert.deepEqual(row['grid'], [
      [1, 2],
      [3, 4],
    ]);
    assert.equal((row['at'] as Date).toISOString(), '2025-05-01T12:00:00.123Z');
  });

  it("keeps a failed statement's SQLSTATE code and message", async () => {
    await assert.rejects(client.query('SELECT * FROM missing_table'), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal((error as Error & { code?: string }).code, '42P01');
      assert.match(error.message, /missing_table/);
      return true;
    });
  });

  it('commits a transaction whose work resolves, and rolls back one whose work throws, rethrowing its error', async () => {
    const answer = await client.transaction(async (tx) => {
      await tx.query("INSERT INTO notes (id) VALUES ('kept')");
      return 42;
    });
    assert.equal(answer, 42);
    const failure = new Error('the work failed');
    await assert.rejects(
      client.transaction(async (tx) => {
        await tx.query("INSERT INTO notes (id) VALUES ('dropped')");
        throw failure;
      }),
      (error: unknown) => error === failure,
    );
    await assert.rejects(client.transaction((tx) => tx.query("INSERT INTO notes (id) VALUES ('kept')")), { code: '23505' });
    const ids = (await client.query<{ id: string }>("SELECT id FROM notes WHERE id IN ('kept', 'dropped')")).map((row) => row.id);
    assert.deepEqual(ids, ['kept']);
  });

  it('runs statements given up front in one transaction: settings carry over, a failure undoes them all', async () => {
    await assertTransactionOf(client, 'given_notes');
  });

  it('runs prepared statements like unprepared ones, whatever the values, and survives their failures', async () => {
    await assertPreparedStatements(client, 'prepared_notes');
  });

  it('waits for an open transaction before statements given up front, prepared or not', async () => {
    await assertTransactionOfWaitsForOpenTransaction(client, 'waiting_notes');
  });

  it('answers read statements each as soon as it has run, after a shared prefix, prepared or not', async () => {
    await assertReadEach(client);
  });

  it('holds other statements back until an open transaction ends', async () => {
    let outsideAnswered = false;
    let outside: Promise<{ n: number }[]> | null = null;
    await client.transaction(async (tx) => {
      await tx.query("INSERT INTO notes (id) VALUES ('inside')");
      outside = client.query<{ n: number }>("SELECT count(*)::int AS n FROM notes WHERE id = 'inside'");
      void outside.then(() => {
        outsideAnswered = true;
      });
      await sleep(50);
      assert.equal(outsideAnswered, false, 'a statement ran inside another caller’s transaction');
    });
    assert.ok(outside);
    assert.deepEqual(await outside, [{ n: 1 }]);
  });

  it('refuses statements once closed', async () => {
    const other = await PgliteThreadClient.start({ dataDir: join(folder, 'other'), startParams: PGlite.defaultStartParams });
    assert.deepEqual(await other.query('SELECT 1 AS one'), [{ one: 1 }]);
    await other.close();
    await assert.rejects(other.query('SELECT 1'));
  });
});
