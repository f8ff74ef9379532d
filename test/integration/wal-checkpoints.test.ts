import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { PgliteThreadClient } from '../../src/adapters/pglite/pglite-thread-client.js';
import { PGLITE_START_PARAMS } from '../../src/adapters/pglite/pglite-metadata-store.js';
import { LOG_SINCE_CHECKPOINT, WalCheckpoints, type Checkpointed } from '../../src/adapters/pglite/wal-checkpoints.js';

const MIB = 1024 * 1024;
/** About 16 KB of log. */
const SOME_ROWS = 'INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 200) g';
/** About 2.5 MB of rows, and more of log. */
const WRITE_ROWS = `INSERT INTO notes (body) SELECT repeat(md5(g::text), 40) FROM generate_series(1, 2000) g`;

async function logSinceCheckpoint(query: (text: string) => Promise<readonly unknown[]>): Promise<number> {
  const [row] = (await query(LOG_SINCE_CHECKPOINT)) as Array<{ since: number }>;
  assert.ok(row);
  return row.since;
}

describe('checkpoints of the embedded database', () => {
  describe('the policy, on PGlite in this thread', () => {
    let folder: string;
    let db: PGlite;
    const run = async (text: string): Promise<readonly unknown[]> => (await db.query(text)).rows;
    const noEvents = { checkpointed: () => undefined, failed: (error: unknown) => assert.fail(String(error)) };
    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'engram-wal-'));
      db = await PGlite.create({ dataDir: join(folder, 'pgdata'), startParams: [...PGLITE_START_PARAMS] });
      await db.exec('CREATE TABLE notes (id serial PRIMARY KEY, body text)');
    });
    after(async () => {
      await db.close();
      await rm(folder, { recursive: true, force: true });
    });

    it('lets the log grow without a checkpoint of its own, as a single-user backend has no checkpointer', async () => {
      const before = await logSinceCheckpoint(run);
      for (let round = 0; round < 4; round++) await db.exec(WRITE_ROWS);
      assert.ok((await logSinceCheckpoint(run)) - before > 8 * MIB);
    });

    it('takes a checkpoint once the log since the last one passes walBytes, and none before', async () => {
      const checkpoints = new WalCheckpoints(run, noEvents, { walBytes: 64 * MIB });
      assert.equal(await checkpoints.check(), null, 'under walBytes');
      const written = await logSinceCheckpoint(run);
      const small = new WalCheckpoints(run, noEvents, { walBytes: 4 * MIB });
      const done = await small.check();
      assert.ok(done !== null);
      assert.equal(done.walBytes, written);
      assert.ok(done.ms >= 0);
      assert.ok((await logSinceCheckpoint(run)) < 4_096, 'the redo point moved to the end of the log');
      assert.equal(await small.check(), null, 'nothing written since');
    });

    it('takes one after maxIntervalMs while the log moves, and none while it stands still', async () => {
      let now = 0;
      const checkpoints = new WalCheckpoints(run, noEvents, { walBytes: 64 * MIB, maxIntervalMs: 60_000 }, () => now);
      await db.exec('CHECKPOINT');
      now = 120_000;
      assert.equal(await checkpoints.check(), null, 'no log since the last checkpoint');
      await db.exec(SOME_ROWS);
      now = 30_000 + 120_000;
      const done = await checkpoints.check();
      assert.ok(done !== null, 'due by time');
      await db.exec(SOME_ROWS);
      now += 59_000;
      assert.equal(await checkpoints.check(), null, 'not yet due again');
      now += 1_000;
      assert.ok((await checkpoints.check()) !== null);
    });
  });

  describe("the embedded database's thread", () => {
    let folder: string;
    let client: PgliteThreadClient;
    const taken: Checkpointed[] = [];
    const failures: Error[] = [];
    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'engram-wal-thread-'));
      client = await PgliteThreadClient.start(
        { dataDir: join(folder, 'pgdata'), startParams: PGLITE_START_PARAMS, checkpoints: { walBytes: 2 * MIB, checkEveryMs: 20 } },
        { checkpointed: (done) => taken.push(done), checkpointFailed: (error) => failures.push(error) },
      );
      await client.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)');
    });
    after(async () => {
      await client.close();
      await rm(folder, { recursive: true, force: true });
    });

    it('keeps the log since the last checkpoint near walBytes however much is written, and tells of each checkpoint', async () => {
      let most = 0;
      for (let round = 0; round < 12; round++) {
        await client.query(WRITE_ROWS);
        most = Math.max(most, await logSinceCheckpoint((text) => client.query(text)));
        await sleep(30);
      }
      for (let waited = 0; taken.length < 3 && waited < 5_000; waited += 20) await sleep(20);
      assert.deepEqual(failures, []);
      assert.ok(taken.length >= 3, `checkpoints taken: ${taken.length}`);
      for (const done of taken) assert.ok(done.walBytes >= 2 * MIB);
      // Each round writes about 3 MB of log (36 MB in all); a read every 20 ms catches it after a
      // round or two.
      assert.ok(most < 12 * MIB, `most log since a checkpoint: ${most}`);
    });
  });
});
