import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createInProcessJobQueue } from '../../src/adapters/in-process-queue/in-process-job-queue.js';
import { WriteRecovery } from '../../src/services/recover-writes.js';
import { embeddedStoreOfSuite, newWriteTask } from '../support/embedded-store.js';
import { silentLogger } from '../support/logger.js';

describe('write recovery', () => {
  const storeOf = embeddedStoreOfSuite('engram-recovery-');

  async function staleTasks(count: number): Promise<string[]> {
    const tenant = `tenant-${randomUUID()}`;
    const tasks = Array.from({ length: count }, (_, index) => newWriteTask(tenant, `memory ${index}`));
    await storeOf().tasks.accept(tasks.slice(0, 1));
    await storeOf().tasks.accept(tasks.slice(1));
    await sleep(50);
    return tasks.map((task) => task.taskId);
  }

  it('enqueues every pending write at boot, a page at a time', async () => {
    await staleTasks(5);
    const queue = createInProcessJobQueue({ logger: silentLogger() });
    try {
      const recovery = new WriteRecovery({ tasks: storeOf().tasks, queue, logger: silentLogger(), recoverAfterMs: 30_000, batchSize: 2 });
      assert.ok((await recovery.recoverAll()) >= 5);
      assert.equal(await queue.depth(), await storeOf().tasks.countPending());
    } finally {
      await queue.close();
    }
  });

  it('ends the claims of the process before at boot, its worker being the only one', async () => {
    const [taskId] = await staleTasks(1);
    assert.ok(taskId !== undefined);
    assert.equal((await storeOf().tasks.claim([taskId], 60_000)).length, 1);
    assert.deepEqual(await storeOf().tasks.claim([taskId], 60_000), [], 'claimed, by a worker that then died');
    const queue = createInProcessJobQueue({ logger: silentLogger() });
    try {
      const recovery = new WriteRecovery({ tasks: storeOf().tasks, queue, logger: silentLogger(), recoverAfterMs: 60_000 });
      await recovery.recoverAll();
      const [claimed] = await storeOf().tasks.claim([taskId], 60_000);
      assert.equal(claimed?.attempts, 2, 'claimable at once, the crashed attempt counted');
    } finally {
      await queue.close();
    }
  });

  it('enqueues every stale write to a queue that lost its jobs, and a page a look to one working through a backlog', async () => {
    const queue = createInProcessJobQueue({ logger: silentLogger() });
    try {
      const recovery = new WriteRecovery({ tasks: storeOf().tasks, queue, logger: silentLogger(), recoverAfterMs: 10, batchSize: 2 });
      const busy = createInProcessJobQueue({ logger: silentLogger() });
      await busy.enqueue([{ taskIds: [randomUUID()] }, { taskIds: [randomUUID()] }]);
      const slow = new WriteRecovery({ tasks: storeOf().tasks, queue: busy, logger: silentLogger(), recoverAfterMs: 10, batchSize: 2 });
      await staleTasks(5);
      assert.equal(await slow.recoverStale(), 2);
      await busy.close();

      const pending = await storeOf().tasks.countPending();
      assert.equal(await recovery.recoverStale(), pending);
      assert.equal(await queue.depth(), pending);
    } finally {
      await queue.close();
    }
  });
});
