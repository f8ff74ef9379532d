import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { TaskRetention } from '../../src/services/task-retention.js';
import { embeddedStoreOfSuite, newWriteTask } from '../support/embedded-store.js';

const HOUR_MS = 3_600_000;

describe('task retention, on the embedded store', () => {
  const storeOf = embeddedStoreOfSuite('engram-retention-');

  it('forgets only the tasks that finished longer ago than the retention, a batch at a time, up to its passes', async () => {
    const tenant = `tenant-${randomUUID()}`;
    const store = storeOf();
    const tasks = Array.from({ length: 5 }, () => newWriteTask(tenant));
    await store.tasks.accept(tasks);
    await store.tasks.complete(tasks.map((task) => task.taskId));
    const retention = new TaskRetention({ tasks: store.tasks, retentionMs: HOUR_MS, batchSize: 2, maxBatchesPerPass: 2 });

    assert.equal(await retention.forgetExpired(new Date(Date.now() + HOUR_MS / 2)), 0, 'half an hour later, all are kept');
    const anHourLater = new Date(Date.now() + HOUR_MS + 1_000);
    assert.equal(await retention.forgetExpired(anHourLater), 4, 'two batches of two in one pass');
    assert.equal(await retention.forgetExpired(anHourLater), 1, 'the rest at the next pass');
    assert.equal(await retention.forgetExpired(anHourLater), 0);
    for (const task of tasks) assert.equal(await store.tasks.find(tenant, task.taskId), null);
  });
});
