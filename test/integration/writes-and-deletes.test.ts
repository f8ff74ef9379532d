import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Principal } from '../../src/domain/api-key.js';
import { DependencyUnavailableError, NotFoundError } from '../../src/domain/errors.js';
import type { MemoryDraft } from '../../src/domain/memory.js';
import type { MemoryRepository, MetadataStore, TaskRepository } from '../../src/ports/metadata-store.js';
import type { VectorStore } from '../../src/ports/vector-store.js';
import { MemoryEraser } from '../../src/services/forget-memories.js';
import type { WriteProcessor } from '../../src/services/process-writes.js';
import { MemorySearch } from '../../src/services/search-memories.js';
import { waitFor } from '../support/free-port.js';
import { heldStep, withMethod, type HeldStep } from '../support/held-step.js';
import { silentLogger } from '../support/logger.js';
import { openRealStores, writeProcessorOver, type RealStores } from '../support/real-stores.js';

const newPrincipal = (): Principal => ({ tenantId: `tenant-${randomUUID()}`, keyId: 'key-1' });

function draft(principal: Principal, id: string, userId: string, text: string, sessionId = 'session-1'): MemoryDraft {
  return { id, tenantId: principal.tenantId, userId, sessionId, role: 'user', text, createdAt: new Date(), metadata: {} };
}

/** Accepts the writes as the API does, in order; returns their task ids. */
async function acceptWrites(metadata: MetadataStore, drafts: readonly MemoryDraft[]): Promise<string[]> {
  const accepted = await metadata.tasks.accept(drafts.map((memory) => ({ taskId: randomUUID(), draft: memory, idempotencyKey: null })));
  return accepted.map((task) => task.taskId);
}

/** The vector store, with its upserts held at `step`. */
function upsertsHeldAt(vectors: VectorStore, step: HeldStep): VectorStore {
  return withMethod(vectors, 'upsert', async (...args: Parameters<VectorStore['upsert']>) => {
    await step.hold();
    return vectors.upsert(...args);
  });
}

/** The vector store, with the `nth` call (from 1) of its method `name` held at `step`. */
function callHeld<K extends 'remove' | 'removeUser' | 'upsert'>(vectors: VectorStore, name: K, nth: number, step: HeldStep): VectorStore {
  const original = vectors[name].bind(vectors) as (...args: unknown[]) => Promise<void>;
  let calls = 0;
  const held = async (...args: unknown[]): Promise<void> => {
    calls += 1;
    if (calls === nth) await step.hold();
    return original(...args);
  };
  return withMethod(vectors, name, held as VectorStore[K]);
}

/**
 * The worker and deletes over real stores (embedded Postgres, a Chroma server, the bundled model):
 * whatever order their steps meet in, Chroma ends holding a vector for exactly the live memories,
 * each under its current user. Steps are held at chosen points to force the orders that matter.
 */
describe('writes and deletes side by side', () => {
  let stores: RealStores;
  let metadata: MetadataStore;
  let vectors: VectorStore;

  before(async () => {
    stores = await openRealStores('engram-writes-deletes-');
    ({ metadata, vectors } = stores);
  });
  after(() => stores.close());

  const accept = (...drafts: MemoryDraft[]): Promise<string[]> => acceptWrites(metadata, drafts);
  const processor = (vectorStore: VectorStore = vectors, tasks: TaskRepository = metadata.tasks): WriteProcessor =>
    writeProcessorOver(stores, { vectorStore, tasks });
  const eraser = (vectorStore: VectorStore = vectors, memories: MemoryRepository = metadata.memories): MemoryEraser =>
    new MemoryEraser({ memories, vectorStore, logger: silentLogger() });

  /** Vector ids per user, straight from Chroma. */
  async function vectorIds(principal: Principal, ...userIds: string[]): Promise<Record<string, string[]>> {
    const entries = await Promise.all(userIds.map(async (userId) => [userId, (await vectors.listIds(principal.tenantId, userId)).sort()] as const));
    return Object.fromEntries(entries);
  }

  /** Accepts a write and stores it whole. */
  async function store(principal: Principal, memory: MemoryDraft): Promise<void> {
    const [taskId] = await accept(memory);
    assert.ok(taskId !== undefined);
    await processor().process({ taskIds: [taskId] });
  }

  /**
   * Stores memory 'moving' of one user, then a write that moves it to another: Postgres takes the
   * move, and Chroma is away when the old user's vector is to go. Returns the move's task, left to
   * be tried again.
   */
  async function failedMove(principal: Principal, from: string, to: string, text: string): Promise<string> {
    await store(principal, draft(principal, 'moving', from, text));
    const [move] = await accept(draft(principal, 'moving', to, text));
    assert.ok(move !== undefined);
    const away = withMethod(vectors, 'remove', async () => {
      throw new DependencyUnavailableError('chroma');
    });
    await assert.rejects(processor(away).process({ taskIds: [move] }), DependencyUnavailableError);
    return move;
  }

  async function status(principal: Principal, taskId: string): Promise<string | undefined> {
    return (await metadata.tasks.find(principal.tenantId, taskId))?.status;
  }

  it('keeps only the last user\'s vector when one run moves a memory from user to user', async () => {
    const principal = newPrincipal();
    const taskIds = await accept(
      draft(principal, 'moving', 'alice', 'I keep bees on the roof'),
      draft(principal, 'moving', 'bob', 'I keep bees on the roof'),
    );
    await processor().process({ taskIds });
    assert.equal((await metadata.memories.get(principal.tenantId, 'moving'))?.userId, 'bob');
    assert.deepEqual(await vectorIds(principal, 'alice', 'bob'), { alice: [], bob: ['moving'] });

    await eraser().deleteMemory(principal, 'moving');
    assert.deepEqual(await vectorIds(principal, 'alice', 'bob'), { alice: [], bob: [] });
  });

  it('removes its own vector when a newer write moved the memory while it stored an older one', async () => {
    const principal = newPrincipal();
    const [older, newer] = await accept(
      draft(principal, 'moving', 'carol', 'The boat is moored in Kiel'),
      draft(principal, 'moving', 'dave', 'The boat is moored in Kiel'),
    );
    assert.ok(older !== undefined && newer !== undefined);
    const held = heldStep();
    // The older write is in Postgres and about to write its vector when the newer one runs whole.
    const slow = processor(upsertsHeldAt(vectors, held)).process({ taskIds: [older] });
    await held.reached;
    await processor().process({ taskIds: [newer] });
    held.release();
    await slow;
    assert.equal((await metadata.memories.get(principal.tenantId, 'moving'))?.userId, 'dave');
    assert.deepEqual(await vectorIds(principal, 'carol', 'dave'), { carol: [], dave: ['moving'] });
  });

  it("removes the old user's vector when a move is tried again after Chroma failed behind Postgres", async () => {
    const principal = newPrincipal();
    const move = await failedMove(principal, 'hugo', 'ines', 'My sister lives in Oslo');
    assert.equal((await metadata.memories.get(principal.tenantId, 'moving'))?.userId, 'ines');
    assert.equal(await status(principal, move), 'queued');
    await processor().process({ taskIds: [move] });
    assert.equal(await status(principal, move), 'completed');
    assert.deepEqual(await vectorIds(principal, 'hugo', 'ines'), { hugo: [], ines: ['moving'] });
  });

  it("removes the old user's vector when a newer write of the new user overtakes a failed move", async () => {
    const principal = newPrincipal();
    const move = await failedMove(principal, 'jules', 'kira', 'The spare key is under the mat');
    // The new user's next write lands before the move is tried again, which then changes nothing.
    await store(principal, draft(principal, 'moving', 'kira', 'The spare key is in the shed'));
    assert.deepEqual(await vectorIds(principal, 'jules', 'kira'), { jules: [], kira: ['moving'] });
    await processor().process({ taskIds: [move] });
    assert.equal(await status(principal, move), 'completed');
    assert.equal((await metadata.memories.get(principal.tenantId, 'moving'))?.text, 'The spare key is in the shed');
  });

  it("removes the old user's vector when a delete follows a move that failed behind Postgres", async () => {
    const principal = newPrincipal();
    const move = await failedMove(principal, 'lena', 'milo', 'I park on level three');
    await eraser().deleteMemory(principal, 'moving');
    assert.deepEqual(await vectorIds(principal, 'lena', 'milo'), { lena: [], milo: [] });
    await processor().process({ taskIds: [move] });
    assert.deepEqual(await vectorIds(principal, 'lena', 'milo'), { lena: [], milo: [] });
    assert.equal(await metadata.memories.get(principal.tenantId, 'moving'), null);
  });

  it("erases with a user a memory their unstored write was taking over, and the other user's vector", async () => {
    const principal = newPrincipal();
    await store(principal, draft(principal, 'taken', 'rosa', 'The piano needs tuning'));
    const [taking] = await accept(draft(principal, 'taken', 'saul', 'The piano needs tuning'));
    assert.ok(taking !== undefined);
    assert.equal(await eraser().eraseUser(principal, 'saul'), 1);
    assert.deepEqual(await vectorIds(principal, 'rosa', 'saul'), { rosa: [], saul: [] });
    await processor().process({ taskIds: [taking] });
    assert.deepEqual(await vectorIds(principal, 'rosa', 'saul'), { rosa: [], saul: [] });
    assert.equal(await metadata.memories.get(principal.tenantId, 'taken'), null);
  });

  it('lets a move accepted before the old user was erased land with the new user', async () => {
    const principal = newPrincipal();
    await store(principal, draft(principal, 'leaving', 'tara', 'The boat keys are in the drawer'));
    const [move] = await accept(draft(principal, 'leaving', 'ugo', 'The boat keys are in the drawer'));
    assert.ok(move !== undefined);
    assert.equal(await eraser().eraseUser(principal, 'tara'), 1);
    assert.equal(await metadata.memories.get(principal.tenantId, 'leaving'), null);
    await processor().process({ taskIds: [move] });
    assert.equal((await metadata.memories.get(principal.tenantId, 'leaving'))?.userId, 'ugo');
    assert.deepEqual(await vectorIds(principal, 'tara', 'ugo'), { tara: [], ugo: ['leaving'] });
  });

  it('leaves no vector when a delete meets a worker between its vector and its check', async () => {
    const principal = newPrincipal();
    const [taskId] = await accept(draft(principal, 'doomed', 'erin', 'My locker code is on the fridge'));
    assert.ok(taskId !== undefined);
    const upsert = heldStep();
    const tombstone = heldStep();
    const memories = withMethod(metadata.memories, 'remove', async (...args: Parameters<MemoryRepository['remove']>) => {
      await tombstone.hold();
      return metadata.memories.remove(...args);
    });
    // The worker has stored the memory in Postgres; the delete removes the (not yet written) vector
    // and waits before its tombstone; the worker writes its vector and finds the memory still live.
    const work = processor(upsertsHeldAt(vectors, upsert)).process({ taskIds: [taskId] });
    await upsert.reached;
    const deletion = eraser(vectors, memories).deleteMemory(principal, 'doomed');
    await tombstone.reached;
    upsert.release();
    await work;
    assert.deepEqual(await vectorIds(principal, 'erin'), { erin: ['doomed'] });
    tombstone.release();
    await deletion;
    assert.equal(await metadata.memories.get(principal.tenantId, 'doomed'), null);
    assert.deepEqual(await vectorIds(principal, 'erin'), { erin: [] });
  });

  it('leaves no vector when an erasure meets a worker between its vector and its check', async () => {
    const principal = newPrincipal();
    const [taskId] = await accept(draft(principal, 'doomed', 'frank', 'I was born in Tromsø'));
    assert.ok(taskId !== undefined);
    const upsert = heldStep();
    const erasure = heldStep();
    const memories = withMethod(metadata.memories, 'eraseUser', async (...args: Parameters<MemoryRepository['eraseUser']>) => {
      await erasure.hold();
      return metadata.memories.eraseUser(...args);
    });
    const work = processor(upsertsHeldAt(vectors, upsert)).process({ taskIds: [taskId] });
    await upsert.reached;
    const erasing = eraser(vectors, memories).eraseUser(principal, 'frank');
    await erasure.reached;
    upsert.release();
    await work;
    assert.deepEqual(await vectorIds(principal, 'frank'), { frank: ['doomed'] });
    erasure.release();
    assert.equal(await erasing, 1);
    assert.deepEqual(await vectorIds(principal, 'frank'), { frank: [] });
  });

  it('keeps the vector of a write that lands while a delete makes sure its own vector is gone', async () => {
    const principal = newPrincipal();
    await store(principal, draft(principal, 'reborn', 'hana', 'The spare key is under the mat'));
    const lastRemoval = heldStep();
    const deletion = eraser(callHeld(vectors, 'remove', 2, lastRemoval)).deleteMemory(principal, 'reborn');
    await lastRemoval.reached;
    // The tombstone is in: a write of the memory accepted now lands whole before the delete's
    // last removal of its vector.
    await store(principal, draft(principal, 'reborn', 'hana', 'The spare key is with the neighbour'));
    assert.deepEqual(await vectorIds(principal, 'hana'), { hana: ['reborn'] });
    lastRemoval.release();
    await deletion;
    assert.equal((await metadata.memories.get(principal.tenantId, 'reborn'))?.text, 'The spare key is with the neighbour');
    assert.deepEqual(await vectorIds(principal, 'hana'), { hana: ['reborn'] });
  });

  it("keeps the vector of a user's write that lands while their erasure makes sure their vectors are gone", async () => {
    const principal = newPrincipal();
    await store(principal, draft(principal, 'old-note', 'ivan', 'I sold the old car'));
    const lastRemoval = heldStep();
    const erasing = eraser(callHeld(vectors, 'removeUser', 2, lastRemoval)).eraseUser(principal, 'ivan');
    await lastRemoval.reached;
    await store(principal, draft(principal, 'new-note', 'ivan', 'I bought a bicycle'));
    lastRemoval.release();
    assert.equal(await erasing, 1);
    assert.equal(await metadata.memories.get(principal.tenantId, 'old-note'), null);
    assert.equal((await metadata.memories.get(principal.tenantId, 'new-note'))?.text, 'I bought a bicycle');
    assert.deepEqual(await vectorIds(principal, 'ivan'), { ivan: ['new-note'] });
  });

  it('leaves no vector when a delete lands while a worker writes the newer version it found', async () => {
    const principal = newPrincipal();
    const [older, newer] = await accept(
      draft(principal, 'twice', 'jana', 'The meeting is on Monday'),
      draft(principal, 'twice', 'jana', 'The meeting is on Tuesday'),
    );
    assert.ok(older !== undefined && newer !== undefined);
    const ownUpsert = heldStep();
    const newerUpsert = heldStep();
    const slowVectors = callHeld(callHeld(vectors, 'upsert', 1, ownUpsert), 'upsert', 2, newerUpsert);
    const slow = processor(slowVectors).process({ taskIds: [older] });
    await ownUpsert.reached;
    await processor().process({ taskIds: [newer] });
    ownUpsert.release();
    // The older write's worker found the newer version in Postgres and is about to write its vector.
    await newerUpsert.reached;
    await eraser().deleteMemory(principal, 'twice');
    newerUpsert.release();
    await slow;
    assert.equal(await metadata.memories.get(principal.tenantId, 'twice'), null);
    assert.deepEqual(await vectorIds(principal, 'jana'), { jana: [] });
  });

  it('counts no attempt against writes handed back while Postgres blinks, however many outages they wait', async () => {
    const principal = newPrincipal();
    const [taskId] = await accept(draft(principal, 'patient', 'kai', 'The plumber comes at nine'));
    assert.ok(taskId !== undefined);
    const chromaAway = withMethod(vectors, 'upsert', async () => {
      throw new DependencyUnavailableError('chroma');
    });
    let releases = 0;
    const postgresBlinks = withMethod(metadata.tasks, 'release', async (...args: Parameters<TaskRepository['release']>) => {
      releases += 1;
      if (releases % 2 === 1) throw new DependencyUnavailableError('postgres');
      return metadata.tasks.release(...args);
    });
    // More outages than a write has attempts: each claim is counted, and handed back uncounted.
    for (let outage = 0; outage < 6; outage++) {
      await assert.rejects(processor(chromaAway, postgresBlinks).process({ taskIds: [taskId] }), DependencyUnavailableError);
      assert.equal(await status(principal, taskId), 'queued');
    }
    await processor().process({ taskIds: [taskId] });
    assert.equal(await status(principal, taskId), 'completed');
    assert.deepEqual(await vectorIds(principal, 'kai'), { kai: ['patient'] });
  });

  it('deletes a memory accepted but not yet stored, so that its write never lands', async () => {
    const principal = newPrincipal();
    const deletes = eraser();
    const [first, second] = await accept(
      draft(principal, 'early', 'gina', 'Pick up the parcel on Friday'),
      draft(principal, 'early', 'gina', 'Pick up the parcel on Saturday'),
    );
    assert.ok(first !== undefined && second !== undefined);
    await deletes.deleteMemory(principal, 'early');
    await processor().process({ taskIds: [first, second] });
    assert.equal(await status(principal, first), 'completed');
    assert.equal(await status(principal, second), 'completed');
    assert.equal(await metadata.memories.get(principal.tenantId, 'early'), null);
    assert.deepEqual(await vectorIds(principal, 'gina'), { gina: [] });
    await assert.rejects(deletes.deleteMemory(principal, 'early'), NotFoundError);
    await assert.rejects(deletes.deleteMemory(principal, 'never-written'), NotFoundError);

    // A write accepted after the delete lands as usual.
    const [later] = await accept(draft(principal, 'early', 'gina', 'Pick up the parcel on Monday'));
    assert.ok(later !== undefined);
    await processor().process({ taskIds: [later] });
    assert.equal((await metadata.memories.get(principal.tenantId, 'early'))?.text, 'Pick up the parcel on Monday');
    assert.deepEqual(await vectorIds(principal, 'gina'), { gina: ['early'] });
  });
});

/**
 * A user large enough for a collection of their own is searched by Chroma with the scope's filters
 * (a bucket's users by the ids Postgres lists): Chroma's copy of a memory may be an older version.
 */
describe('searches of a large user while a write is under way', () => {
  let stores: RealStores;

  before(async () => {
    stores = await openRealStores('engram-large-user-search-', { promoteAbove: 2, promotionGraceMs: 300 });
  });
  after(() => stores.close());

  it("never returns a memory by the vector store's copy of a version from another session", async () => {
    const { metadata, vectors, embedder } = stores;
    const principal = newPrincipal();
    const turn = (id: string, sessionId: string, text: string): MemoryDraft => draft(principal, id, 'jane', text, sessionId);
    await writeProcessorOver(stores).process({
      taskIds: await acceptWrites(metadata, [
        turn('kitten', 'session-1', 'We adopted a grey kitten called Pepper'),
        turn('boat', 'session-1', 'The boat is moored in Kiel'),
        turn('cello', 'session-1', 'My daughter plays the cello'),
        turn('garden', 'session-1', 'The roses in my garden bloomed'),
      ]),
    });
    // Past two vectors Jane moves to a collection of her own, in the background.
    await waitFor(async () => (await vectors.idsWanted(principal.tenantId, 'jane')) === 0, 20_000, 'a collection of her own');
    // Postgres takes the kitten into session-2; Chroma still holds it in session-1.
    const step = heldStep();
    const work = writeProcessorOver(stores, { vectorStore: upsertsHeldAt(vectors, step) }).process({
      taskIds: await acceptWrites(metadata, [turn('kitten', 'session-2', 'We adopted a grey kitten called Pepper')]),
    });
    await step.reached;
    // Ranked by the vector store, by meaning alone.
    const search = new MemorySearch({ memories: metadata.memories, vectorStore: vectors, embedder, options: { sketchedUpTo: 0, lexicalWeight: 0 } });
    const found = async (sessionId: string) =>
      (await search.search(principal, { query: 'grey kitten', userId: 'jane', sessionId, topK: 1 })).map((hit) => `${hit.memory.id} ${hit.memory.sessionId}`);
    assert.equal((await found('session-1')).includes('kitten session-2'), false);
    step.release();
    await work;
    assert.deepEqual(await found('session-2'), ['kitten session-2']);
  });
});
