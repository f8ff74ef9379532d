import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { MemoryDraft } from '../../src/domain/memory.js';
import type { VectorStore } from '../../src/ports/vector-store.js';
import type { WriteProcessor } from '../../src/services/process-writes.js';
import { heldStep, withMethod } from '../support/held-step.js';
import { openRealStores, writeProcessorOver, type RealStores } from '../support/real-stores.js';

const LEASE_MS = 300;

/**
 * The claims of workers side by side, over real stores (embedded Postgres, a Chroma server, the
 * bundled model): a run that outlasts its lease keeps its writes, and one that fails hands them
 * back to the job's next try at once.
 */
describe("a worker's lease on the writes it runs", () => {
  let stores: RealStores;

  before(async () => {
    stores = await openRealStores('engram-write-leases-');
  });
  after(() => stores.close());

  /** A worker's processor over the stores; `embedded` counts the texts its model was given. */
  function worker(vectorStore: VectorStore = stores.vectors): { readonly processor: WriteProcessor; readonly embedded: () => number } {
    let texts = 0;
    const embedder = withMethod(stores.embedder, 'embed', (batch: readonly string[]) => {
      texts += batch.length;
      return stores.embedder.embed(batch);
    });
    return { processor: writeProcessorOver(stores, { vectorStore, embedder, leaseMs: LEASE_MS }), embedded: () => texts };
  }

  async function acceptOne(text: string): Promise<{ readonly tenantId: string; readonly taskId: string }> {
    const tenantId = `tenant-${randomUUID()}`;
    const draft: MemoryDraft = { id: randomUUID(), tenantId, userId: 'uma', sessionId: 'session-1', role: 'user', text, createdAt: new Date(), metadata: {} };
    const [accepted] = await stores.metadata.tasks.accept([{ taskId: randomUUID(), draft, idempotencyKey: null }]);
    assert.ok(accepted);
    return { tenantId, taskId: accepted.taskId };
  }

  it('keeps its writes from another worker while its run outlasts the lease', async () => {
    const { tenantId, taskId } = await acceptOne('The boat trip is on Saturday');
    const step = heldStep();
    const slow = worker(withMethod(stores.vectors, 'upsert', async (...args: Parameters<VectorStore['upsert']>) => {
      await step.hold();
      return stores.vectors.upsert(...args);
    }));
    const running = slow.processor.process({ taskIds: [taskId] });
    await step.reached;
    await sleep(LEASE_MS * 4);

    // The same job again, as a queue hands out one it took for stalled.
    const other = worker();
    await other.processor.process({ taskIds: [taskId] });
    assert.equal(other.embedded(), 0, 'the other worker ran none of the writes under way');
    assert.equal((await stores.metadata.tasks.find(tenantId, taskId))?.status, 'processing');

    step.release();
    await running;
    await slow.processor.close();
    assert.equal((await stores.metadata.tasks.find(tenantId, taskId))?.status, 'completed');
    assert.deepEqual(await stores.vectors.listIds(tenantId, 'uma'), [(await firstMemoryId(tenantId, taskId))]);
  });

  it("hands a failed run's writes to the job's next try at once, the attempt counted", async () => {
    const { tenantId, taskId } = await acceptOne('The dentist moved my appointment to Tuesday');
    let failures = 0;
    const failing = worker(withMethod(stores.vectors, 'upsert', async () => {
      failures += 1;
      throw new Error('the vector store answered with something it should not have');
    }));
    await assert.rejects(failing.processor.process({ taskIds: [taskId] }), /should not have/);
    assert.equal(failures, 1);
    assert.equal((await stores.metadata.tasks.find(tenantId, taskId))?.status, 'queued');

    const next = worker();
    await next.processor.process({ taskIds: [taskId] });
    assert.equal(next.embedded(), 1);
    assert.equal((await stores.metadata.tasks.find(tenantId, taskId))?.status, 'completed');
    await Promise.all([failing.processor.close(), next.processor.close()]);
  });

  async function firstMemoryId(tenantId: string, taskId: string): Promise<string> {
    const task = await stores.metadata.tasks.find(tenantId, taskId);
    assert.ok(task);
    return task.memoryId;
  }
});
