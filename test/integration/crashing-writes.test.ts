import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { MemoryDraft } from '../../src/domain/memory.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import type { WriteProcessor } from '../../src/services/process-writes.js';
import { withMethod } from '../support/held-step.js';
import { openRealStores, writeProcessorOver, type RealStores } from '../support/real-stores.js';

const DEADLY = 'the text that takes its worker down';
const MAX_ATTEMPTS = 5;
const LEASE_MS = 200;

/**
 * A write whose processing kills the worker every time (an out-of-memory kill, say): each restart
 * claims it again, over real stores (embedded Postgres, a Chroma server, the bundled model). A
 * death is a run that never ends: the model never answers a call holding the deadly text.
 */
describe('a write that kills its worker', () => {
  let stores: RealStores;
  let metadata: MetadataStore;

  before(async () => {
    stores = await openRealStores('engram-crashing-writes-');
    ({ metadata } = stores);
  });
  after(() => stores.close());

  /** A worker's processor whose model dies on the deadly text; `died` settles when it does. */
  function worker(): { readonly processor: WriteProcessor; readonly died: Promise<'died'> } {
    let die = (): void => undefined;
    const died = new Promise<'died'>((resolve) => (die = () => resolve('died')));
    const embedder = withMethod(stores.embedder, 'embed', (texts: readonly string[]) => {
      if (!texts.includes(DEADLY)) return stores.embedder.embed(texts);
      die();
      return new Promise<Float32Array[]>(() => undefined);
    });
    return { processor: writeProcessorOver(stores, { embedder, maxAttempts: MAX_ATTEMPTS, leaseMs: LEASE_MS }), died };
  }

  it('is given up alone; the writes of its run are stored', async () => {
    const tenantId = `tenant-${randomUUID()}`;
    const texts = ['I moved to Lisbon in May', DEADLY, 'My daughter plays the cello', 'The car is due for service'];
    const drafts = texts.map(
      (text, index): MemoryDraft => ({
        id: `memory-${index}`,
        tenantId,
        userId: 'uma',
        sessionId: 'session-1',
        role: 'user',
        text,
        createdAt: new Date(),
        metadata: {},
      }),
    );
    const accepted = await metadata.tasks.accept(drafts.map((draft) => ({ taskId: randomUUID(), draft, idempotencyKey: null })));
    const taskIds = accepted.map((task) => task.taskId);

    // Each restart runs the same job again, as the queue does with a job whose worker died, once
    // the dead worker's lease on its writes has run out.
    const outcomes: string[] = [];
    while (outcomes.at(-1) !== 'finished' && outcomes.length < 3 * MAX_ATTEMPTS) {
      const { processor, died } = worker();
      outcomes.push(await Promise.race([processor.process({ taskIds }).then(() => 'finished'), died]));
      // A dead worker renews nothing.
      await processor.close();
      if (outcomes.at(-1) === 'died') await sleep(LEASE_MS + 50);
    }
    assert.equal(outcomes.at(-1), 'finished', `the job ends: ${outcomes.join(', ')}`);
    assert.equal(outcomes.filter((outcome) => outcome === 'died').length, MAX_ATTEMPTS, 'the deadly write is tried as often as allowed');

    const tasks = await Promise.all(taskIds.map((taskId) => metadata.tasks.find(tenantId, taskId)));
    assert.deepEqual(
      tasks.map((task) => task?.status),
      ['completed', 'failed', 'completed', 'completed'],
    );
    assert.equal(tasks[1]?.error?.code, 'max_attempts_exceeded');
    const stored = await metadata.memories.getMany(tenantId, ['memory-0', 'memory-1', 'memory-2', 'memory-3']);
    assert.deepEqual(stored.map((memory) => memory.text).sort(), [texts[0], texts[2], texts[3]].sort());
    assert.deepEqual((await stores.vectors.listIds(tenantId, 'uma')).sort(), ['memory-0', 'memory-2', 'memory-3']);
  });
});
