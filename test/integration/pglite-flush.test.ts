import assert from 'node:assert/strict';
import { fsyncSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { FlushingNodeFS } from '../../src/adapters/pglite/flushing-node-fs.js';
import { PGLITE_START_PARAMS } from '../../src/adapters/pglite/pglite-metadata-store.js';
import { PgliteThreadClient } from '../../src/adapters/pglite/pglite-thread-client.js';
import type { SqlClient } from '../../src/adapters/sql/sql-client.js';

describe('embedded database flushes', () => {
  it('flushes every commit to the disk before answering it, and nothing for a read', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'engram-flush-'));
    const flushed: number[] = [];
    // The real flush, counted.
    const flush = (descriptor: number): void => {
      fsyncSync(descriptor);
      flushed.push(descriptor);
    };
    const db = await PGlite.create({ fs: new FlushingNodeFS(join(folder, 'pgdata'), flush), startParams: [...PGLITE_START_PARAMS] });
    try {
      assert.deepEqual((await db.query('SHOW fsync')).rows, [{ fsync: 'on' }]);
      assert.deepEqual((await db.query('SHOW wal_sync_method')).rows, [{ wal_sync_method: 'fsync' }]);
      await db.exec('CREATE TABLE notes (id serial PRIMARY KEY, text text)');
      for (let index = 0; index < 5; index += 1) {
        const before = flushed.length;
        await db.query('INSERT INTO notes (text) VALUES ($1)', [`note ${index}`]);
        assert.ok(flushed.length > before, `commit ${index} answered without a flush`);
      }
      const beforeRead = flushed.length;
      assert.deepEqual((await db.query('SELECT count(*)::int AS count FROM notes')).rows, [{ count: 5 }]);
      assert.equal(flushed.length, beforeRead);
    } finally {
      await db.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("runs the embedded metadata store's database with flushes on", async () => {
    const folder = await mkdtemp(join(tmpdir(), 'engram-flush-'));
    const client = await PgliteThreadClient.start({ dataDir: join(folder, 'pgdata'), startParams: PGLITE_START_PARAMS });
    try {
      assert.deepEqual(await client.query('SHOW fsync'), [{ fsync: 'on' }]);
      assert.deepEqual(await client.query('SHOW wal_sync_method'), [{ wal_sync_method: 'fsync' }]);
    } finally {
      await client.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  const isUnavailable = (error: unknown): boolean => {
    assert.ok(error instanceof DependencyUnavailableError, String(error));
    assert.equal(error.code, 'dependency_unavailable');
    assert.equal(error.dependency, 'postgres');
    return true;
  };

  /** Ways a write reaches the database thread, each with what it writes. */
  const writes: ReadonlyArray<{ readonly via: string; readonly write: (client: SqlClient) => Promise<unknown> }> = [
    { via: 'a statement', write: (client) => client.query('INSERT INTO kept VALUES (2)') },
    {
      via: 'prepared statements in one exchange',
      write: (client) => client.transactionOf([{ text: 'INSERT INTO kept VALUES ($1)', params: [2], prepare: true }]),
    },
    // Enough rows that the log is written before the commit, in the middle of the transaction.
    {
      via: 'a transaction of statements',
      write: (client) => client.transactionOf([{ text: 'INSERT INTO kept SELECT generate_series(2, 200000)', params: [] }]),
    },
    {
      via: 'an open transaction',
      write: (client) => client.transaction((tx) => tx.query('INSERT INTO kept SELECT generate_series(2, 200000)')),
    },
    // A small write reaches the log only at the COMMIT of an explicit transaction.
    { via: "an open transaction's commit", write: (client) => client.transaction((tx) => tx.query('INSERT INTO kept VALUES (2)')) },
    {
      via: "the commit of prepared and unprepared statements",
      write: (client) =>
        client.transactionOf([
          { text: 'INSERT INTO kept VALUES ($1)', params: [2], prepare: true },
          { text: 'INSERT INTO kept VALUES (3)', params: [] },
        ]),
    },
  ];

  /** Faults that stop PostgreSQL (a PANIC), each with the reason it gives. */
  const stops: ReadonlyArray<{ readonly fault: 'flushes' | 'log-writes'; readonly what: string; readonly cause: RegExp; readonly cases: typeof writes }> = [
    { fault: 'flushes', what: 'a flush fails', cause: /flush failed/, cases: writes.slice(0, 1) },
    { fault: 'log-writes', what: 'the disk is full', cause: /could not write to log file.*No space left on device/, cases: writes },
  ];

  for (const { fault, what, cause, cases } of stops) {
    for (const { via, write } of cases) {
      it(`fails the statements at once when ${what} (${via}), and opens again with what was flushed before`, async () => {
        const folder = await mkdtemp(join(tmpdir(), 'engram-flush-'));
        const dataDir = join(folder, 'pgdata');
        try {
          const healthy = await PgliteThreadClient.start({ dataDir, startParams: PGLITE_START_PARAMS });
          await healthy.query('CREATE TABLE kept (n int)');
          await healthy.query('INSERT INTO kept VALUES (1)');
          await healthy.close();

          const failing = await PgliteThreadClient.start({ dataDir, startParams: PGLITE_START_PARAMS, failOnceOpen: fault });
          // The write that stops the database, a statement queued behind it, and one sent after: none waits.
          const stopped = write(failing);
          const queued = failing.query('SELECT count(*) FROM kept');
          await assert.rejects(stopped, (error: unknown) => isUnavailable(error) && cause.test(String((error as Error).cause)));
          await assert.rejects(queued, isUnavailable);
          await assert.rejects(failing.query('SELECT 1'), isUnavailable);
          await failing.close();

          const reopened = await PgliteThreadClient.start({ dataDir, startParams: PGLITE_START_PARAMS });
          try {
            // The write that stopped it may be there too: it reached the log, but not the disk, for sure.
            const kept = await reopened.query<{ n: number }>('SELECT n FROM kept ORDER BY n');
            assert.deepEqual(kept[0], { n: 1 });
          } finally {
            await reopened.close();
          }
        } finally {
          await rm(folder, { recursive: true, force: true });
        }
      });
    }
  }
});
