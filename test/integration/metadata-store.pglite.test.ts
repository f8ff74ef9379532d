import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { lockDataDir } from '../../src/adapters/data-dir-lock.js';
import { createPgliteMetadataStore, EMBEDDED_STATISTICS_TARGET, PGLITE_START_PARAMS } from '../../src/adapters/pglite/pglite-metadata-store.js';
import { PgliteThreadClient } from '../../src/adapters/pglite/pglite-thread-client.js';
import { createSqlMetadataStore } from '../../src/adapters/sql/sql-metadata-store.js';
import { isDomainError } from '../../src/domain/errors.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { growMemories, metadataStoreContract, rowSecurityContract } from '../contracts/metadata-store.contract.js';
import { silentLogger } from '../support/logger.js';

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function freshFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'engram-pglite-'));
  folders.push(folder);
  return folder;
}

function openStore(dataDir: string): Promise<MetadataStore> {
  return createPgliteMetadataStore({ dataDir, logger: silentLogger() });
}

/** A pid that surely belongs to no running process: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid !== undefined);
  return child.pid;
}

metadataStoreContract('PGlite', async () => openStore(await freshFolder()));

rowSecurityContract('PGlite', async () => {
  const client = await PgliteThreadClient.start({ dataDir: join(await freshFolder(), 'pgdata'), startParams: PGlite.defaultStartParams });
  return { client, store: await createSqlMetadataStore({ client, logger: silentLogger() }) };
});

describe('PGlite settings', () => {
  it('starts with 64 MB of log kept between checkpoints, a 128 MB buffer pool and the smaller statistics target', async () => {
    const client = await PgliteThreadClient.start({ dataDir: join(await freshFolder(), 'pgdata'), startParams: PGLITE_START_PARAMS });
    try {
      const [settings] = await client.query<Record<string, string>>(
        `SELECT current_setting('shared_buffers') AS buffers, current_setting('max_wal_size') AS wal,
                current_setting('default_statistics_target') AS target`,
      );
      assert.deepEqual(settings, { buffers: '128MB', wal: '64MB', target: String(EMBEDDED_STATISTICS_TARGET) });
    } finally {
      await client.close();
    }
  });
});

describe('PGlite table upkeep', () => {
  it('analyses a grown table to the embedded statistics target, which samples fewer rows than the default', async () => {
    const folder = await freshFolder();
    const store = await openStore(folder);
    try {
      await store.migrate();
      await store.keepFit();
      await growMemories(store, `tenant-${randomUUID()}`);
      assert.ok((await store.keepFit()).includes('memories'));
    } finally {
      await store.close();
    }

    // Opened with PGlite's own settings, so that a plain ANALYZE works to PostgreSQL's target.
    const client = await PgliteThreadClient.start({ dataDir: join(folder, 'pgdata'), startParams: PGlite.defaultStartParams });
    try {
      // 400 distinct ids: a histogram of as many buckets as the target allows.
      const idBounds = async (): Promise<number | undefined> =>
        (await client.query<{ bounds: number }>(`SELECT array_length(histogram_bounds, 1) AS bounds FROM pg_stats WHERE tablename = 'memories' AND attname = 'id'`))[0]
          ?.bounds;
      assert.equal(await idBounds(), EMBEDDED_STATISTICS_TARGET + 1);
      await client.query('ANALYZE memories');
      assert.equal(await idBounds(), 101, "the database's own target, 100, makes more of the same rows");
    } finally {
      await client.close();
    }
  });
});

describe('PGlite commits', () => {
  /**
   * Log written but not yet flushed, in bytes. After a flushed commit the insert position may
   * stand past the header of a new page (at most 40 bytes), which holds nothing of the commit.
   */
  async function unflushedLog(client: PgliteThreadClient): Promise<number> {
    const [row] = await client.query<{ bytes: number }>(
      `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn())::int AS bytes`,
    );
    return row?.bytes ?? -1;
  }
  const PAGE_HEADER_BYTES = 40;

  it("flushes accepts and claims, not the worker's later steps, which the next flushed commit carries", async () => {
    const client = await PgliteThreadClient.start({ dataDir: join(await freshFolder(), 'pgdata'), startParams: PGLITE_START_PARAMS });
    const store = await createSqlMetadataStore({ client, logger: silentLogger() });
    try {
      await store.migrate();
      const tenantId = `tenant-${randomUUID()}`;
      const task = (text: string) => ({
        taskId: randomUUID(),
        idempotencyKey: null,
        draft: { id: randomUUID(), tenantId, userId: 'user-1', sessionId: 'session-1', role: 'user' as const, text, createdAt: new Date(), metadata: {} },
      });
      const first = task('the train leaves at nine');
      await store.tasks.accept([first]);
      assert.ok((await unflushedLog(client)) <= PAGE_HEADER_BYTES, 'an accept answered before its log was flushed');
      const [claimed] = await store.tasks.claim([first.taskId], 60_000);
      assert.ok((await unflushedLog(client)) <= PAGE_HEADER_BYTES, 'a claim answered before its log was flushed');

      assert.ok(claimed?.draft);
      const [outcome] = await store.memories.applyMany([{ ...claimed.draft, version: claimed.seq, updatedAt: new Date(), embedding: new Float32Array(512).fill(0.5) }]);
      assert.equal(outcome?.applied, true);
      const afterApply = await unflushedLog(client);
      assert.ok(afterApply > PAGE_HEADER_BYTES, `the apply left ${afterApply} bytes of log unflushed`);
      await store.tasks.complete([first.taskId]);
      assert.ok((await unflushedLog(client)) > afterApply, 'the completion left no log of its own unflushed');
      assert.equal((await store.tasks.find(tenantId, first.taskId))?.status, 'completed');

      await store.tasks.accept([task('and the bus at ten')]);
      assert.ok((await unflushedLog(client)) <= PAGE_HEADER_BYTES, "an accept's flush left the steps before it unflushed");
    } finally {
      await store.close();
    }
  });
});

describe('PGlite data folder', () => {
  let dataDir: string;
  let store: MetadataStore;
  const tenant = `tenant-${randomUUID()}`;

  before(async () => {
    dataDir = await freshFolder();
    store = await openStore(dataDir);
    await store.migrate();
  });
  after(async () => {
    await store.close();
  });

  it('refuses a second opener, naming the process that holds it and the way out', async () => {
    await assert.rejects(openStore(dataDir), (error: unknown) => {
      assert.ok(isDomainError(error));
      assert.equal(error.code, 'data_dir_busy');
      assert.match(error.message, new RegExp(`process ${process.pid}\\b`));
      assert.match(error.message, /DATABASE_URL/);
      return true;
    });
  });

  it('refuses it when the lock names a live process of this machine', async () => {
    const other = await freshFolder();
    await writeFile(join(other, 'engram.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), since: '' }));
    await assert.rejects(openStore(other), { code: 'data_dir_busy', message: new RegExp(`process ${process.ppid}\\b`) });
  });

  it('gives the folder up when closed', async () => {
    const draft = {
      id: 'kept',
      tenantId: tenant,
      userId: 'u1',
      sessionId: 's1',
      role: 'user' as const,
      text: 'persisted',
      createdAt: new Date(),
      metadata: {},
    };
    const [accepted] = await store.tasks.accept([{ taskId: randomUUID(), draft, idempotencyKey: null }]);
    await store.memories.apply({ ...draft, version: accepted!.seq, updatedAt: new Date(), embedding: new Float32Array([1]) });
    await store.close();
    await store.close();
    await assert.rejects(readFile(join(dataDir, 'engram.lock')), { code: 'ENOENT' });
  });

  it('takes over a lock left by a process that is gone, keeping what was written', async () => {
    const stale = JSON.stringify({ pid: deadPid(), host: hostname(), since: '2020-01-01T00:00:00.000Z' });
    await writeFile(join(dataDir, 'engram.lock'), stale);
    store = await openStore(dataDir);
    const lock = JSON.parse(await readFile(join(dataDir, 'engram.lock'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, process.pid);
    await store.migrate();
    assert.equal((await store.memories.get(tenant, 'kept'))?.text, 'persisted');
  });
});

describe("the data folder's lock", () => {
  const logger = silentLogger();
  const lockOf = (folder: string): string => join(folder, 'engram.lock');
  const holder = async (folder: string): Promise<{ pid: number; since: string }> =>
    JSON.parse(await readFile(lockOf(folder), 'utf8')) as { pid: number; since: string };

  it('takes over a lock naming this process, left by an earlier start with the same number', async () => {
    // A container started again: its first process has the number of the one that died.
    const folder = await freshFolder();
    await writeFile(lockOf(folder), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const lock = await lockDataDir(folder, logger);
    try {
      assert.equal((await holder(folder)).pid, process.pid);
      await assert.rejects(lockDataDir(join(folder, '.'), logger), { code: 'data_dir_busy' });
    } finally {
      await lock.release();
    }
  });

  it('tells a live holder from a process that took its number after the lock was made', async () => {
    const folder = await freshFolder();
    // This machine's process process.ppid started before now, and after 2020.
    await writeFile(lockOf(folder), JSON.stringify({ pid: process.ppid, host: hostname(), since: new Date().toISOString() }));
    await assert.rejects(lockDataDir(folder, logger), { code: 'data_dir_busy' });
    await writeFile(lockOf(folder), JSON.stringify({ pid: process.ppid, host: hostname(), since: '2020-01-01T00:00:00.000Z' }));
    const lock = await lockDataDir(folder, logger);
    await lock.release();
  });

  it("refuses another machine's lock while it is touched, and takes it over once it is not", async () => {
    const folder = await freshFolder();
    await writeFile(lockOf(folder), JSON.stringify({ pid: 12345, host: 'elsewhere', since: new Date().toISOString() }));
    await assert.rejects(lockDataDir(folder, logger), { code: 'data_dir_busy', message: /process 12345\b/ });
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lockOf(folder), minuteAgo, minuteAgo);
    const lock = await lockDataDir(folder, logger);
    try {
      assert.equal((await holder(folder)).pid, process.pid);
      // The holder touches its lock every few seconds, so that no machine takes it over.
      await utimes(lockOf(folder), minuteAgo, minuteAgo);
      const deadline = Date.now() + 15_000;
      while ((await stat(lockOf(folder))).mtimeMs < Date.now() - 30_000 && Date.now() < deadline) await sleep(200);
      assert.ok((await stat(lockOf(folder))).mtimeMs > Date.now() - 30_000, 'the lock was not touched');
    } finally {
      await lock.release();
    }
  });
});
