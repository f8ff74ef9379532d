import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPgliteMetadataStore } from '../../src/adapters/pglite/pglite-metadata-store.js';
import type { MetadataStore, NewWriteTask } from '../../src/ports/metadata-store.js';
import { TaskRetention } from '../../src/services/task-retention.js';
import { silentLogger } from '../support/logger.js';

const HOUR_MS = 3_600_000;

function finishedTask(tenantId: string): NewWriteTask {
  return {
    taskId: randomUUID(),
    idempotencyKey: null,
    draft: {
      id: randomUUID(),
      tenantId,
      userId: 'user-1',
      sessionId: 'session-1',
      role: 'user',
      text: 'the train leaves at nine',
      createdAt: new Date(),
      metadata: {},
    },
  };
}

describe('task retention, on the embedded store', () => {
  let folder: string;
  let store: MetadataStore;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'engram-retention-'));
    store = await createPgliteMetadataStore({ dataDir: folder, logger: silentLogger() });
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('forgets only the tasks that finished longer ago than the retention, a batch at a time, up to its passes', async () => {
    const tenant = `tenant-${randomUUID()}`;
    const tasks = Array.from({ length: 5 }, () => finishedTask(tenant));
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
