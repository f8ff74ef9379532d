import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInProcessJobQueue } from '../../src/adapters/in-process-queue/in-process-job-queue.js';
import { createPgliteMetadataStore } from '../../src/adapters/pglite/pglite-metadata-store.js';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import type { Principal } from '../../src/domain/api-key.js';
import type { AcceptedTask, MetadataStore, NewWriteTask } from '../../src/ports/metadata-store.js';
import { AcceptGroups } from '../../src/services/accept-groups.js';
import { WriteAcceptor } from '../../src/services/accept-writes.js';
import { withMethod } from '../support/held-step.js';
import { silentLogger } from '../support/logger.js';
import { createTestDatabase } from '../support/postgres.js';

/** A write task of the tenant, not yet stored; `text` as the draft holds it. */
function newTask(tenantId: string, text = 'We moved the book club to Thursday'): NewWriteTask {
  return {
    taskId: randomUUID(),
    draft: { id: randomUUID(), tenantId, userId: 'uma', sessionId: 'session-1', role: 'user', text, createdAt: new Date(), metadata: {} },
    idempotencyKey: null,
  };
}

/** A metadata store, migrated, and how to close it and drop what it holds. */
interface OpenedStore {
  readonly store: MetadataStore;
  readonly close: () => Promise<void>;
}

async function embeddedStore(): Promise<OpenedStore> {
  const folder = await mkdtemp(join(tmpdir(), 'engram-accept-groups-'));
  const store = await createPgliteMetadataStore({ dataDir: folder, logger: silentLogger() });
  return {
    store,
    close: async () => {
      await store.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

async function serverStore(): Promise<OpenedStore> {
  const database = await createTestDatabase();
  const store = await createPostgresMetadataStore({ url: database.url, logger: silentLogger() });
  return {
    store,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}

/** The writes' group commit: the store's own accept is counted, each call one transaction. */
function describeAcceptGroups(name: string, open: () => Promise<OpenedStore>): void {
  describe(`accepts committed in groups on ${name}`, () => {
    let opened: OpenedStore;
    let store: MetadataStore;
    let commits: NewWriteTask[][];

    before(async () => {
      opened = await open();
      store = opened.store;
      await store.migrate();
    });
    after(() => opened.close());

    /** The store's own accept, each call (one transaction) recorded in `commits`. */
    function recordedAccept(tasks: readonly NewWriteTask[]): Promise<AcceptedTask[]> {
      commits.push([...tasks]);
      return store.tasks.accept(tasks);
    }

    /** Groups over the store, their commits recorded from none. */
    function groups(): AcceptGroups {
      commits = [];
      return new AcceptGroups(recordedAccept);
    }

    async function stored(tenantId: string, task: NewWriteTask): Promise<boolean> {
      return (await store.tasks.find(tenantId, task.taskId))?.status === 'queued';
    }

    it("commits a lone write at once, and the tenant's writes sent meanwhile in one transaction, each answered with its own", async () => {
      const accepts = groups();
      const tenantId = `tenant-${randomUUID()}`;
      const writes = [[newTask(tenantId)], [newTask(tenantId), newTask(tenantId), newTask(tenantId)], ...Array.from({ length: 6 }, () => [newTask(tenantId)])];
      const answers = await Promise.all(writes.map((tasks) => accepts.accept(tenantId, tasks)));

      assert.deepEqual(
        commits.map((tasks) => tasks.length),
        [1, 9],
        'the first alone, then the eight tasks of the seven writes sent while it committed',
      );
      writes.forEach((tasks, index) => {
        assert.deepEqual(
          answers[index]?.map(({ taskId, memoryId, replayed }) => ({ taskId, memoryId, replayed })),
          tasks.map((task) => ({ taskId: task.taskId, memoryId: task.draft.id, replayed: false })),
        );
      });
      const sequence = answers.flat().map((task) => task.seq);
      assert.deepEqual(sequence, [...sequence].sort((a, b) => a - b), 'numbered in the order they were sent');
      for (const task of writes.flat()) assert.ok(await stored(tenantId, task));
    });

    it('commits each tenant in turn of its own', async () => {
      const accepts = groups();
      const [first, second] = [`tenant-${randomUUID()}`, `tenant-${randomUUID()}`];
      const writes = [first, second, first, second, first, second].map((tenantId) => ({ tenantId, tasks: [newTask(tenantId)] }));
      await Promise.all(writes.map(({ tenantId, tasks }) => accepts.accept(tenantId, tasks)));

      assert.deepEqual(
        commits.map((tasks) => tasks.map((task) => (task.draft.tenantId === first ? 'first' : 'second'))),
        [['first'], ['second'], ['first', 'first'], ['second', 'second']],
      );
      for (const { tenantId, tasks } of writes) assert.ok(await stored(tenantId, tasks[0] as NewWriteTask));
    });

    it('commits each write of a group that fails on its own, so that only the failing one fails', async () => {
      const accepts = groups();
      const tenantId = `tenant-${randomUUID()}`;
      // Postgres' JSON holds no NUL character: this draft cannot be stored.
      const unstorable = newTask(tenantId, 'a text with a \u0000 in it');
      const writes = [[newTask(tenantId)], [newTask(tenantId)], [unstorable], [newTask(tenantId)]];
      const outcomes = await Promise.allSettled(writes.map((tasks) => accepts.accept(tenantId, tasks)));

      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.deepEqual(
        commits.map((tasks) => tasks.length),
        [1, 3, 1, 1, 1],
        'the first alone, the group of three, then each of the three again alone',
      );
      for (const index of [0, 1, 3]) assert.ok(await stored(tenantId, writes[index]?.[0] as NewWriteTask));
      assert.equal(await stored(tenantId, unstorable), false);
    });

    it('groups the API\'s writes without a key only', async () => {
      const queue = createInProcessJobQueue({ logger: silentLogger() });
      commits = [];
      const acceptor = new WriteAcceptor({
        tasks: withMethod(store.tasks, 'accept', recordedAccept),
        queue,
        redactor: null,
        logger: silentLogger(),
      });
      try {
        const principal: Principal = { tenantId: `tenant-${randomUUID()}`, keyId: 'key-1' };
        const request = (index: number) => [{ userId: 'uma', sessionId: 'session-1', text: `Note number ${index}` }];
        const keyed = await Promise.all([0, 1, 2, 3].map((index) => acceptor.accept(principal, request(index), `key-${index}`)));
        assert.equal(commits.length, 4, 'a keyed write commits alone');
        commits = [];
        const unkeyed = await Promise.all([4, 5, 6, 7].map((index) => acceptor.accept(principal, request(index), null)));
        assert.deepEqual(
          commits.map((tasks) => tasks.length),
          [1, 3],
        );
        assert.equal(new Set([...keyed, ...unkeyed].flat().map((write) => write.taskId)).size, 8);
        await acceptor.settle();
      } finally {
        await queue.close();
      }
    });
  });
}

describeAcceptGroups('PGlite', embeddedStore);
describeAcceptGroups('PostgreSQL', serverStore);
