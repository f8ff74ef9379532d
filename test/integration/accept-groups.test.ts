import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createInProcessJobQueue } from '../../src/adapters/in-process-queue/in-process-job-queue.js';
import type { Principal } from '../../src/domain/api-key.js';
import type { WriteJob } from '../../src/ports/job-queue.js';
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

    it("groups the API's keyed writes too, each key once a group, and wakes every task that waits", async () => {
      const inProcess = createInProcessJobQueue({ logger: silentLogger() });
      const woken: string[] = [];
      const queue = withMethod(inProcess, 'enqueue', (jobs: readonly WriteJob[]) => {
        woken.push(...jobs.flatMap((job) => job.taskIds));
        return inProcess.enqueue(jobs);
      });
      commits = [];
      const acceptor = new WriteAcceptor({ tasks: withMethod(storeOf().tasks, 'accept', recordedAccept), queue, redactor: null, logger: silentLogger() });
      try {
        const principal: Principal = { tenantId: `tenant-${randomUUID()}`, keyId: 'key-1' };
        const request = (index: number) => [{ userId: 'uma', sessionId: 'session-1', text: `Note number ${index}` }];
        const sent = async (writes: ReadonlyArray<readonly [number, string | null]>) => {
          commits = [];
          woken.length = 0;
          const outcomes = await Promise.allSettled(writes.map(([index, key]) => acceptor.accept(principal, request(index), key)));
          await acceptor.settle();
          return outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value[0]?.taskId : (outcome.reason as { code?: string }).code));
        };

        // The retry of key-b waits for the next group: in one statement its first request would
        // be stored and the retry told only after the commit.
        const [a, b, retryOfB, c, unkeyed] = await sent([[0, 'key-a'], [1, 'key-b'], [1, 'key-b'], [2, 'key-c'], [3, null]]);
        assert.deepEqual(
          commits.map((tasks) => tasks.length),
          [1, 1, 3],
        );
        assert.equal(retryOfB, b, 'the retry answered with the first task');
        assert.equal(new Set([a, b, c, unkeyed]).size, 4);
        assert.deepEqual(woken, [a, b, b, c, unkeyed], 'the retry wakes its unclaimed task again');

        // key-a again with another request holds back its whole group, whose writes then commit alone.
        const [d, reused, e] = await sent([[4, 'key-d'], [5, 'key-a'], [6, 'key-e']]);
        assert.deepEqual(
          commits.map((tasks) => tasks.length),
          [1, 2, 1, 1],
        );
        assert.equal(reused, 'idempotency_key_reused');
        assert.deepEqual(woken, [d, e]);

        await storeOf().tasks.claim([c ?? ''], 60_000);
        assert.deepEqual(await sent([[2, 'key-c']]), [c]);
        assert.deepEqual(woken, [], 'a retry of a claimed task wakes nothing');
      } finally {
        await inProcess.close();
      }
    });
  });
}

describeAcceptGroups('PGlite', () => embeddedStoreOfSuite('engram-accept-groups-'));
describeAcceptGroups('PostgreSQL', serverStoreOfSuite);
