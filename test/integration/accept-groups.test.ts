import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createInProcessJobQueue } from '../../src/adapters/in-process-queue/in-process-job-queue.js';
import type { Principal } from '../../src/domain/api-key.js';
import type { AcceptedTask, MetadataStore, NewWriteTask } from '../../src/ports/metadata-store.js';
import { AcceptGroups } from '../../src/services/accept-groups.js';
import { WriteAcceptor } from '../../src/services/accept-writes.js';
import { embeddedStoreOfSuite, newWriteTask } from '../support/embedded-store.js';
import { withMethod } from '../support/held-step.js';
import { silentLogger } from '../support/logger.js';
import { serverStoreOfSuite } from '../support/postgres.js';

/** The writes' group commit: the store's own accept is counted, each call one transaction. */
function describeAcceptGroups(name: string, storeOfSuite: () => () => MetadataStore): void {
  describe(`accepts committed in groups on ${name}`, () => {
    const storeOf = storeOfSuite();
    let commits: NewWriteTask[][];

    /** The store's own accept, each call (one transaction) recorded in `commits`. */
    function recordedAccept(tasks: readonly NewWriteTask[]): Promise<AcceptedTask[]> {
      commits.push([...tasks]);
      return storeOf().tasks.accept(tasks);
    }

    /** Groups over the store, their commits recorded from none. */
    function groups(): AcceptGroups {
      commits = [];
      return new AcceptGroups(recordedAccept);
    }

    async function stored(tenantId: string, task: NewWriteTask): Promise<boolean> {
      return (await storeOf().tasks.find(tenantId, task.taskId))?.status === 'queued';
    }

    it("commits a lone write at once, and the tenant's writes sent meanwhile in one transaction, each answered with its own", async () => {
      const accepts = groups();
      const tenantId = `tenant-${randomUUID()}`;
      const writes = [[newWriteTask(tenantId)], [newWriteTask(tenantId), newWriteTask(tenantId), newWriteTask(tenantId)], ...Array.from({ length: 6 }, () => [newWriteTask(tenantId)])];
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
      const writes = [first, second, first, second, first, second].map((tenantId) => ({ tenantId, tasks: [newWriteTask(tenantId)] }));
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
      const unstorable = newWriteTask(tenantId, 'a text with a \u0000 in it');
      const writes = [[newWriteTask(tenantId)], [newWriteTask(tenantId)], [unstorable], [newWriteTask(tenantId)]];
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
        tasks: withMethod(storeOf().tasks, 'accept', recordedAccept),
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

describeAcceptGroups('PGlite', () => embeddedStoreOfSuite('engram-accept-groups-'));
describeAcceptGroups('PostgreSQL', serverStoreOfSuite);
