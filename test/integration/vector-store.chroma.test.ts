import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { ChromaHttp } from '../../src/adapters/chroma/chroma-http.js';
import { ChromaVectorStore, createChromaVectorStore } from '../../src/adapters/chroma/chroma-vector-store.js';
import { bucketCollectionName, DEFAULT_BUCKETS, MODEL_MARKER_COLLECTION, ownerKey, ROUTES_COLLECTION, userCollectionName } from '../../src/adapters/chroma/collection-name.js';
import { Collections } from '../../src/adapters/chroma/collections.js';
import { OwnerRoutes } from '../../src/adapters/chroma/owner-routes.js';
import { memoryIdOfRecord } from '../../src/adapters/chroma/record-id.js';
import { DependencyUnavailableError, isDomainError, VectorStoreInUseError } from '../../src/domain/errors.js';
import { describeVectorStoreContract, direction, newOwner, vectorRecord } from '../contracts/vector-store.contract.js';
import { msToNextRequest, startChromaProxy, startNotingProxy } from '../support/chroma-proxy.js';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';
import { freePort } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';

const logger = silentLogger();

describeVectorStoreContract('Chroma', async () => {
  const chroma = await startTestChroma();
  // A tiny promotion threshold, so that the contract's growing users move to dedicated collections.
  const open = (): ChromaVectorStore =>
    new ChromaVectorStore({ url: chroma.url, logger, requestTimeoutMs: 2_000, buckets: 4, promoteAbove: 40, routeRefreshMs: 200, promotionGraceMs: 300 });
  return {
    store: open(),
    openAnother: open,
    dependency: 'chroma',
    pause: () => chroma.pause(),
    resume: () => chroma.start(),
    close: () => chroma.stop(),
  };
});

describe('ChromaVectorStore', () => {
  let chroma: TestChroma;
  let store: ChromaVectorStore;
  const collectionsUrl = (): string => `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  const collection = async (name: string): Promise<Record<string, unknown> | null> => {
    const response = await fetch(`${collectionsUrl()}/${name}`);
    return response.status === 404 ? null : ((await response.json()) as Record<string, unknown>);
  };

  const bucketOf = (owner: { tenantId: string; userId: string }): string =>
    bucketCollectionName(ownerKey(owner.tenantId, owner.userId), DEFAULT_BUCKETS);
  /** The metadatas of a collection's records that match a `get` body. */
  const rows = async (name: string, body: Record<string, unknown>): Promise<unknown[]> => {
    const id = (await collection(name))?.['id'];
    const response = await fetch(`${collectionsUrl()}/${String(id)}/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, include: ['metadatas'] }),
    });
    return ((await response.json()) as { metadatas: unknown[] }).metadatas;
  };
  /** The metadatas of an owner's records in their bucket. */
  const ownerRowsInBucket = (owner: { tenantId: string; userId: string }): Promise<unknown[]> =>
    rows(bucketOf(owner), { where: { owner: ownerKey(owner.tenantId, owner.userId) } });
  /** The state an owner's routing record holds, if any. */
  const routeState = async (owner: { tenantId: string; userId: string }): Promise<unknown> =>
    ((await rows(ROUTES_COLLECTION, { ids: [ownerKey(owner.tenantId, owner.userId)] }))[0] as Record<string, unknown> | undefined)?.['state'];

  before(async () => {
    chroma = await startTestChroma();
    store = await createChromaVectorStore({ url: chroma.url, logger }) as ChromaVectorStore;
    await store.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
  });
  after(async () => {
    await store.close();
    await chroma.stop();
  });

  it('names owners, buckets and dedicated collections after a hash of tenant and user, within Chroma rules', () => {
    assert.match(userCollectionName('tenant', 'user@example.com'), /^u[0-9a-f]{40}$/);
    assert.notEqual(ownerKey('ab', 'c'), ownerKey('a', 'bc'));
    assert.match(bucketCollectionName(ownerKey('tenant', 'user'), 16), /^engram_b16_([0-9]|1[0-5])$/);
  });

  it('creates no collection when it queries, lists or removes for an unknown user', async () => {
    const stranger = newOwner();
    await store.query({ scope: stranger, embedding: direction(1), topK: 5 });
    await store.listIds(stranger.tenantId, stranger.userId);
    await store.remove(stranger.tenantId, stranger.userId, ['x']);

    assert.equal(await collection(userCollectionName(stranger.tenantId, stranger.userId)), null);
  });

  it('keeps ordinary users in shared bucket collections for cosine, recording the model', async () => {
    const owner = newOwner();
    await store.upsert([vectorRecord(owner, direction(1))]);

    const bucket = await collection(bucketOf(owner));
    assert.deepEqual(bucket?.['metadata'], { engram_role: 'bucket', engram_model_id: 'chroma-test-model@1', engram_model_dimensions: 4 });
    const { hnsw } = bucket?.['configuration_json'] as { hnsw: { space: string; sync_threshold: number } };
    assert.equal(hnsw.space, 'cosine');
    // Written to disk every 100 records, so that Chroma's log stays short.
    assert.equal(hnsw.sync_threshold, 100);
    assert.equal(await collection(userCollectionName(owner.tenantId, owner.userId)), null);
  });

  it('queries an owner of nearly 5,000 vectors in a bucket among all their named records', async () => {
    // A Chroma of its own: thousands of vectors in the shared buckets would change what the other
    // tests' walks meet.
    const own = await startTestChroma();
    const large = (await createChromaVectorStore({ url: own.url, logger })) as ChromaVectorStore;
    try {
      await large.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
      const owner = newOwner();
      const ids = Array.from({ length: 4_990 }, (_, index) => `memory-${index}`);
      // Distinct directions spread over the sphere, and one that is the query's own.
      const spread = (index: number): Float32Array => direction(Math.sin(index * 1.3), Math.cos(index * 0.7), Math.sin(index * 2.9), Math.cos(index * 0.31));
      const records = ids.map((id, index) => vectorRecord(owner, index === 4_321 ? direction(1) : spread(index), { id }));
      for (let start = 0; start < records.length; start += 1_000) await large.upsert(records.slice(start, start + 1_000));

      // Their whole history fits the named ids, so their bucket is never walked with the owner filter.
      assert.ok((await large.idsWanted(owner.tenantId, owner.userId)) >= ids.length);
      assert.equal(await large.listIds(owner.tenantId, owner.userId).then((listed) => listed.length), ids.length);
      const matches = await large.query({ scope: owner, embedding: direction(1), topK: 3, ids });
      assert.equal(matches.length, 3);
      assert.ok(matches.some((match) => match.id === 'memory-4321' && Math.abs(match.score - 1) < 1e-4), JSON.stringify(matches));
      const named = ids.slice(0, 100);
      const fewer = await large.query({ scope: owner, embedding: direction(1), topK: 3, ids: named });
      assert.equal(fewer.length, 3);
      assert.ok(fewer.every((match) => named.includes(match.id)));
    } finally {
      await large.close();
      await own.stop();
    }
  });

  it('keeps the same memory id of two tenants apart inside one bucket', async () => {
    const owner = newOwner();
    let elsewhere = newOwner();
    while (bucketOf(elsewhere) !== bucketOf(owner)) elsewhere = newOwner();
    await store.upsert([vectorRecord(owner, direction(1), { id: 'same' }), vectorRecord(elsewhere, direction(0, 1), { id: 'same' })]);
    await store.remove(elsewhere.tenantId, elsewhere.userId, ['same']);

    const matches = await store.query({ scope: owner, embedding: direction(1), topK: 5 });
    assert.deepEqual(matches.map((match) => match.id), ['same']);
    assert.ok(Math.abs((matches[0]?.score ?? 0) - 1) < 1e-4);
    assert.deepEqual(await store.listIds(elsewhere.tenantId, elsewhere.userId), []);
  });

  it('moves a user past the threshold to a collection of their own, recorded for every process', async () => {
    const small = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20, promotionGraceMs: 200 });
    await small.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    for (let batch = 0; batch < 4; batch += 1) {
      await small.upsert(Array.from({ length: 10 }, (_, index) => vectorRecord(owner, direction(1, batch + index / 10), { id: `v${batch}-${index}` })));
    }
    await small.settle();

    const dedicated = await collection(userCollectionName(owner.tenantId, owner.userId));
    assert.equal((dedicated?.['metadata'] as Record<string, unknown>)['user_id'], owner.userId);
    assert.equal((await rows(ROUTES_COLLECTION, { ids: [ownerKey(owner.tenantId, owner.userId)] })).length, 1);
    assert.equal((await rows(userCollectionName(owner.tenantId, owner.userId), {})).length, 40);
    // Another process that never wrote for this user finds the same vectors.
    assert.equal((await store.listIds(owner.tenantId, owner.userId)).length, 40);
    // Their own collection needs no owner filter, so their queries need no ids in its place.
    assert.equal(await small.idsWanted(owner.tenantId, owner.userId), 0);
    const named = await small.query({ scope: owner, embedding: direction(1), topK: 10, ids: ['v0-0', 'v3-9'] });
    assert.deepEqual(named.map((match) => match.id), ['v0-0', 'v3-9']);

    // Once the grace period is over, the next write drops the bucket's copy.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await small.upsert([vectorRecord(owner, direction(1), { id: 'late' })]);
    assert.deepEqual(await ownerRowsInBucket(owner), []);
    assert.equal((await small.listIds(owner.tenantId, owner.userId)).length, 41);
    await small.close();
  });

  it("rests after each request of a move's copy as long as the request took", async () => {
    // A proxy before Chroma holds every add back 200 ms, and notes when requests reach it.
    const HELD_BACK_MS = 200;
    const { proxy, arrivals } = await startNotingProxy(chroma.url, (request) => (request.url?.endsWith('/add') === true ? HELD_BACK_MS : 0));
    const mover = new ChromaVectorStore({ url: proxy.url, logger, promoteAbove: 20 });
    try {
      await mover.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
      const owner = newOwner();
      // The third write passes 20 and starts the move; nobody writes after it.
      for (let batch = 0; batch < 3; batch += 1) {
        await mover.upsert(Array.from({ length: 10 }, (_, index) => vectorRecord(owner, direction(1, batch + index / 10), { id: `v${batch}-${index}` })));
      }
      const moveFrom = arrivals.length;
      await mover.settle();
      assert.equal(await routeState(owner), 'dedicated');
      assert.equal((await rows(userCollectionName(owner.tenantId, owner.userId), {})).length, 30);
      // The copy's next request waits for its add (held back, then done by Chroma) and as long again.
      const gap = msToNextRequest(arrivals.slice(moveFrom), 'POST add');
      assert.ok(gap >= 2 * HELD_BACK_MS - 10, `the copy's next request came ${gap.toFixed(0)} ms after its add`);
    } finally {
      await mover.close();
      await proxy.close();
    }
  });

  it('writes a moved owner to the bucket too for five refreshes of the routes, then drops the copy there', async () => {
    const mover = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20, routeRefreshMs: 200 });
    await mover.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    await mover.upsert(Array.from({ length: 30 }, (_, index) => vectorRecord(owner, direction(1, index), { id: `g${index}` })));
    await mover.settle();
    assert.equal(await routeState(owner), 'dedicated');

    // Within the grace a process with an older table still reads the bucket: it gets the write.
    await mover.upsert([vectorRecord(owner, direction(0, 1), { id: 'within-grace' })]);
    assert.equal((await ownerRowsInBucket(owner)).length, 31);
    // Five refreshes of 200 ms later, the next write clears the bucket of the owner.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await mover.upsert([vectorRecord(owner, direction(0, 1), { id: 'after-grace' })]);
    assert.equal((await ownerRowsInBucket(owner)).length, 0);
    assert.equal((await mover.listIds(owner.tenantId, owner.userId)).length, 32);
    await mover.close();
  });

  it('starts again a move that stalled, on the next write of its owner', async () => {
    const large = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20, stalledMigrationMs: 60_000 });
    await large.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    await store.upsert(Array.from({ length: 30 }, (_, index) => vectorRecord(owner, direction(1, index), { id: `b${index}` })));
    // A move that began an hour ago and never finished: its process stopped during the copy.
    const http = new ChromaHttp({ url: chroma.url, requestTimeoutMs: 5_000 });
    const routes = new OwnerRoutes(new Collections(http, logger, 10), { refreshMs: 2_000 });
    await routes.set(ownerKey(owner.tenantId, owner.userId), owner.tenantId, owner.userId, { kind: 'migrating', since: Date.now() - 3_600_000 });
    http.close();

    await large.upsert([vectorRecord(owner, direction(0, 1), { id: 'after-stall' })]);
    await large.settle();

    assert.equal(await routeState(owner), 'dedicated');
    assert.equal((await rows(userCollectionName(owner.tenantId, owner.userId), {})).length, 31);
    await large.close();
  });

  it('moves an owner beside the write that crossed the threshold, and starts a failed move again at their next write', async () => {
    const mover = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20 });
    await mover.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    const name = userCollectionName(owner.tenantId, owner.userId);
    // A collection of another model under the owner's name makes the move fail once it is recorded.
    const blocking = await fetch(collectionsUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, metadata: { engram_model_id: 'another-model@1', engram_model_dimensions: 4 } }),
    });
    assert.equal(blocking.status, 200);

    await mover.upsert(Array.from({ length: 30 }, (_, index) => vectorRecord(owner, direction(1, index), { id: `m${index}` })));
    // The write is done before its move has had a single answer from Chroma.
    assert.equal(await Promise.race([mover.settle().then(() => 'over'), Promise.resolve('under way')]), 'under way');
    await mover.settle();
    assert.equal(await routeState(owner), 'migrating');

    await fetch(`${collectionsUrl()}/${name}`, { method: 'DELETE' });
    await mover.upsert([vectorRecord(owner, direction(0, 1), { id: 'after-failure' })]);
    await mover.settle();

    assert.equal(await routeState(owner), 'dedicated');
    assert.equal((await rows(name, {})).length, 31);
    await mover.close();
  });

  it('loses no write of a process that has not yet seen a promotion', async () => {
    const stale = new ChromaVectorStore({ url: chroma.url, logger, routeRefreshMs: 600_000 });
    const promoter = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20 });
    for (const opened of [stale, promoter]) await opened.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    await stale.upsert([vectorRecord(owner, direction(0, 1), { id: 'first' })]);
    await promoter.upsert(Array.from({ length: 30 }, (_, index) => vectorRecord(owner, direction(0, 1, index), { id: `p${index}` })));
    await promoter.settle();
    assert.ok((await collection(userCollectionName(owner.tenantId, owner.userId))) !== null);

    await stale.upsert([vectorRecord(owner, direction(1), { id: 'from-stale' })]);

    const best = await promoter.query({ scope: owner, embedding: direction(1), topK: 1 });
    assert.deepEqual(best.map((match) => match.id), ['from-stale']);
    assert.equal((await promoter.listIds(owner.tenantId, owner.userId)).length, 32);
    for (const opened of [stale, promoter]) await opened.close();
  });

  it('leaves no vector in a collection of an erased owner that another process still routes to', async () => {
    const stale = new ChromaVectorStore({ url: chroma.url, logger, routeRefreshMs: 600_000, promotionGraceMs: 0 });
    const eraser = new ChromaVectorStore({ url: chroma.url, logger, promoteAbove: 20, promotionGraceMs: 0 });
    for (const opened of [stale, eraser]) await opened.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    const name = userCollectionName(owner.tenantId, owner.userId);
    await eraser.upsert(Array.from({ length: 30 }, (_, index) => vectorRecord(owner, direction(0, 1, index), { id: `e${index}` })));
    await eraser.settle();
    // The other process learns the owner's collection (and clears the bucket of them, its grace over).
    await stale.upsert([vectorRecord(owner, direction(0, 0, 1), { id: 'known' })]);
    assert.equal(await routeState(owner), 'dedicated');

    await eraser.removeUser(owner.tenantId, owner.userId);
    // A write of the erased owner by the route it read before: their collection is not made again.
    await stale.upsert([vectorRecord(owner, direction(1), { id: 'after-erasure' })]);
    assert.equal(await collection(name), null);
    assert.deepEqual((await eraser.query({ scope: owner, embedding: direction(1), topK: 5 })).map((match) => match.id), ['after-erasure']);
    // Removed by either process, the write leaves nothing behind.
    await stale.remove(owner.tenantId, owner.userId, ['after-erasure']);
    assert.deepEqual(await ownerRowsInBucket(owner), []);
    assert.equal(await collection(name), null);

    // A route recorded again after the erasure (a clearing that had read it before) leads nowhere:
    // the next write finds the collection gone and puts the owner back in their bucket.
    const http = new ChromaHttp({ url: chroma.url, requestTimeoutMs: 5_000 });
    const routes = new OwnerRoutes(new Collections(http, logger, 10), { refreshMs: 2_000 });
    await routes.set(ownerKey(owner.tenantId, owner.userId), owner.tenantId, owner.userId, { kind: 'dedicated', since: Date.now(), cleared: true });
    http.close();
    await stale.upsert([vectorRecord(owner, direction(1, 1), { id: 'back-in-bucket' })]);
    assert.equal(await routeState(owner), undefined);
    assert.equal(await collection(name), null);
    assert.deepEqual((await eraser.query({ scope: owner, embedding: direction(1), topK: 5 })).map((match) => match.id), ['back-in-bucket']);
    for (const opened of [stale, eraser]) await opened.close();
  });

  it("finds an owner's vectors written by another process at once, by filter and among named ids that Chroma does not all hold yet", async () => {
    const reader = new ChromaVectorStore({ url: chroma.url, logger });
    const writer = new ChromaVectorStore({ url: chroma.url, logger });
    for (const opened of [reader, writer]) await opened.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
    const owner = newOwner();
    const filtered = async (): Promise<string[]> =>
      (await reader.query({ scope: owner, embedding: direction(1), topK: 10 })).map((match) => match.id);
    // Similarities to the query fall from own-0 to own-2; best and worst bracket them.
    await reader.upsert([0, 1, 2].map((index) => vectorRecord(owner, direction(0.5, 1, index), { id: `own-${index}` })));
    assert.deepEqual(await filtered(), ['own-0', 'own-1', 'own-2']);

    await writer.upsert([vectorRecord(owner, direction(1), { id: 'best' }), vectorRecord(owner, direction(-1, 1), { id: 'worst' })]);
    assert.deepEqual(await filtered(), ['best', 'own-0', 'own-1', 'own-2', 'worst']);

    // A memory the metadata store lists whose vector is not written yet: the others still rank.
    const named = await reader.query({ scope: owner, embedding: direction(1), topK: 10, ids: ['own-1', 'best', 'still-writing', 'worst'] });
    assert.deepEqual(named.map((match) => match.id), ['best', 'own-1', 'worst']);
    assert.deepEqual(await reader.query({ scope: owner, embedding: direction(1), topK: 10, ids: ['still-writing'] }), []);
    for (const opened of [reader, writer]) await opened.close();
  });

  it('signs the vectors of a new store, and keeps plain vectors and the recorded bucket count in a store set up before', async () => {
    const storedDimensions = async (url: string, name: string, owner: string): Promise<number[]> => {
      const found = await fetch(`${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${name}`);
      const id = ((await found.json()) as Record<string, unknown>)['id'];
      const response = await fetch(`${url}/api/v2/tenants/default_tenant/databases/default_database/collections/${String(id)}/get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ where: { owner }, include: ['embeddings'] }),
      });
      return ((await response.json()) as { embeddings: number[][] }).embeddings.map((vector) => vector.length);
    };
    const writeAndFind = async (opened: ChromaVectorStore, url: string, buckets: number): Promise<number[]> => {
      const owner = newOwner();
      await opened.upsert([vectorRecord(owner, direction(0, 1), { id: 'far' }), vectorRecord(owner, direction(1, 0.2), { id: 'near' })]);
      const matches = await opened.query({ scope: owner, embedding: direction(1), topK: 2 });
      assert.deepEqual(matches.map((match) => match.id), ['near', 'far']);
      const expected = [Math.cos(Math.atan(0.2)), 0];
      matches.forEach((match, index) => assert.ok(Math.abs(match.score - (expected[index] ?? NaN)) < 1e-4, `score ${match.score}`));
      const key = ownerKey(owner.tenantId, owner.userId);
      return storedDimensions(url, bucketCollectionName(key, buckets), key);
    };

    assert.deepEqual(await writeAndFind(store, chroma.url, DEFAULT_BUCKETS), [4 + 64, 4 + 64]);
    const marker = await collection(MODEL_MARKER_COLLECTION);
    assert.equal((marker?.['metadata'] as Record<string, unknown>)['engram_vector_layout'], 'owner-signed-1');

    const older = await startTestChroma();
    try {
      // The marker as stores wrote it before layouts were recorded.
      await fetch(`${older.url}/api/v2/tenants/default_tenant/databases/default_database/collections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: MODEL_MARKER_COLLECTION,
          metadata: { engram_model_id: 'chroma-test-model@1', engram_model_dimensions: 4, engram_buckets: 16 },
        }),
      });
      const kept = new ChromaVectorStore({ url: older.url, logger });
      await kept.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
      // Its recorded bucket count too, not today's default.
      assert.deepEqual(await writeAndFind(kept, older.url, 16), [4, 4]);
      await kept.close();
    } finally {
      await older.stop();
    }
  });

  it('binds one deployment of several making their first start at once on an empty Chroma', async () => {
    const empty = await startTestChroma();
    const opened = Array.from({ length: 4 }, () => new ChromaVectorStore({ url: empty.url, logger }));
    try {
      const storeIds = opened.map((_, index) => `store-${index}-${Date.now()}`);
      const outcomes = await Promise.allSettled(
        opened.map(async (each, index) => {
          await each.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
          await each.bindStore(storeIds[index] ?? '');
        }),
      );
      const bound = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [storeIds[index]] : []));
      assert.equal(bound.length, 1, 'one deployment binds');
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof VectorStoreInUseError, String(outcome.reason));
      }
      // Every later start agrees on the winner, as a restart of it or of another would.
      const later = new ChromaVectorStore({ url: empty.url, logger });
      try {
        await later.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
        await later.bindStore(bound[0] ?? '');
        const loser = storeIds.find((id) => id !== bound[0]) ?? '';
        await assert.rejects(later.bindStore(loser), VectorStoreInUseError);
      } finally {
        await later.close();
      }
    } finally {
      await Promise.all(opened.map((each) => each.close()));
      await empty.stop();
    }
  });

  it('keeps owner, session, role, time and prefixed metadata next to each vector', async () => {
    const owner = newOwner();
    const createdAt = new Date('2025-03-04T05:06:07.089Z');
    await store.upsert([
      vectorRecord(owner, direction(1), { id: 'rich', sessionId: 's', role: 'assistant', createdAt, metadata: { n: 2, ok: false, tag: 'x' } }),
    ]);
    const [{ digest, ...metadata }] = (await ownerRowsInBucket(owner)) as [
      Record<string, unknown>,
    ];
    assert.match(String(digest), /^[\w-]{16}$/);
    assert.deepEqual(metadata, {
      owner: ownerKey(owner.tenantId, owner.userId),
      tenant_id: owner.tenantId,
      user_id: owner.userId,
      session_id: 's',
      role: 'assistant',
      created_at: createdAt.getTime(),
      'm.n': 2,
      'm.ok': false,
      'm.tag': 'x',
    });
  });

  it('refuses a range filter on a string as invalid input', async () => {
    const owner = newOwner();
    await assert.rejects(
      store.query({ scope: { ...owner, metadata: [{ key: 'tag', op: 'gt', value: 'b' }] }, embedding: direction(1), topK: 3 }),
      (error: unknown) => isDomainError(error) && error.code === 'invalid_input',
    );
  });

  it('reports a vector of the wrong size as its own error, not worth retrying', async () => {
    const owner = newOwner();
    await store.upsert([vectorRecord(owner, direction(1))]);
    await assert.rejects(
      store.query({ scope: owner, embedding: new Float32Array([1, 0]), topK: 3 }),
      (error: unknown) => isDomainError(error) && error.code === 'vector_store_error' && !error.retryable,
    );
  });

  it('writes a record that another process wrote meanwhile in a request of its own, beside no new record', async () => {
    // One writer reaches Chroma through a proxy that notes each add and upsert, and holds its first
    // write until another writer, with turns of its own as another process has, has written.
    const writes: Array<{ endpoint: string; ids: string[] }> = [];
    let addArrived = (): void => undefined;
    const arrived = new Promise<void>((resolve) => {
      addArrived = resolve;
    });
    let releaseAdd = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      releaseAdd = resolve;
    });
    const proxy = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const endpoint = request.url?.split('/').pop() ?? '';
        const forward = (): void => {
          const forwarded = httpRequest(`${chroma.url}${request.url ?? ''}`, { method: request.method, headers: request.headers }, (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          });
          forwarded.end(body);
        };
        if (endpoint !== 'add' && endpoint !== 'upsert') return forward();
        const ids = (JSON.parse(body.toString('utf8')) as { ids: string[] }).ids.map(memoryIdOfRecord);
        writes.push({ endpoint, ids });
        if (writes.length === 1) {
          addArrived();
          void released.then(forward);
        } else {
          forward();
        }
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    const first = new ChromaVectorStore({ url: `http://127.0.0.1:${port}`, logger });
    const second = new ChromaVectorStore({ url: chroma.url, logger });
    try {
      await Promise.all([first, second].map((writer) => writer.bindModel({ id: 'chroma-test-model@1', dimensions: 4 })));
      const owner = newOwner();
      const firstWrite = first.upsert([vectorRecord(owner, direction(1), { id: 'shared' }), vectorRecord(owner, direction(0, 1), { id: 'new-1' })]);
      await arrived;
      await second.upsert([vectorRecord(owner, direction(1, 1), { id: 'shared' }), vectorRecord(owner, direction(0, 0, 1), { id: 'new-2' })]);
      releaseAdd();
      await firstWrite;

      // The first add left the record as the other writer had written it; the first writer then
      // replaced it alone. A request that both moves a held record and adds one is what makes
      // Chroma 1.0 lose records from its index (see add-then-replace.ts).
      assert.deepEqual(writes, [
        { endpoint: 'add', ids: ['shared', 'new-1'] },
        { endpoint: 'upsert', ids: ['shared'] },
      ]);
      const found = await first.query({ scope: owner, embedding: direction(1), topK: 3 });
      assert.deepEqual(found.map((match) => match.id).sort(), ['new-1', 'new-2', 'shared']);
      assert.equal(found[0]?.id, 'shared');
      assert.ok((found[0]?.score ?? 0) > 0.999, 'the record holds the vector of the last writer');
    } finally {
      releaseAdd();
      await Promise.all([first.close(), second.close()]);
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('gives up on a server that does not answer once the request timeout is over', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    const impatient = new ChromaVectorStore({ url: `http://127.0.0.1:${port}`, logger, requestTimeoutMs: 200 });
    try {
      const started = Date.now();
      await assert.rejects(impatient.ping(), DependencyUnavailableError);
      assert.ok(Date.now() - started < 2_000);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('takes an answer of "too many requests" for a while as an outage worth another try, and a refusal as a defect', async () => {
    // Before Chroma, a proxy answers the next write with the status it is given, as Chroma does
    // when it runs out of a resource (429), then lets writes through.
    let answerNextWrite: number | null = null;
    const proxy = await startChromaProxy(chroma.url, (request) => {
      const endpoint = request.url?.split('/').pop() ?? '';
      if (answerNextWrite === null || (endpoint !== 'add' && endpoint !== 'upsert')) return null;
      const status = answerNextWrite;
      answerNextWrite = null;
      return { status, body: { error: 'ResourceExhausted', message: 'no connection left' } };
    });
    const proxied = new ChromaVectorStore({ url: proxy.url, logger });
    try {
      await proxied.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
      const owner = newOwner();
      const record = vectorRecord(owner, direction(1), { id: 'kept' });
      for (const status of [429, 408]) {
        answerNextWrite = status;
        await assert.rejects(proxied.upsert([record]), (error: unknown) => error instanceof DependencyUnavailableError && error.retryable);
      }
      answerNextWrite = 400;
      await assert.rejects(proxied.upsert([record]), (error: unknown) => isDomainError(error) && error.code === 'vector_store_error' && !error.retryable);
      await proxied.upsert([record]);
      assert.deepEqual((await store.query({ scope: owner, embedding: direction(1), topK: 3 })).map((match) => match.id), ['kept']);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('misses no route of its table when routes are removed while it reads them', async () => {
    const own = await startTestChroma();
    const writer = new ChromaHttp({ url: own.url, requestTimeoutMs: 10_000 });
    const removed: string[] = [];
    // Chroma as a refresh sees it: right after answering the first page, 50 of its routes go.
    class RemovingAfterFirstPage extends ChromaHttp {
      override async sendUnlessMissing(request: Parameters<ChromaHttp['sendUnlessMissing']>[0]): Promise<unknown> {
        const answer = await super.sendUnlessMissing(request);
        const body = request.body as { offset?: number } | undefined;
        if (request.path.endsWith('/get') && body?.offset === 0 && removed.length === 0) {
          removed.push(...(answer as { ids: string[] }).ids.slice(0, 50));
          for (const owner of removed) await writerRoutes.remove(owner);
        }
        return answer;
      }
    }
    const writerRoutes = new OwnerRoutes(new Collections(writer, logger, 10), { refreshMs: 60_000 });
    const reading = new RemovingAfterFirstPage({ url: own.url, requestTimeoutMs: 10_000 });
    try {
      const owners = Array.from({ length: 1_500 }, (_, index) => ownerKey('routes', `moved-${index}`));
      for (let start = 0; start < owners.length; start += 100) {
        await Promise.all(
          owners.slice(start, start + 100).map((owner) => writerRoutes.set(owner, 'routes', owner, { kind: 'dedicated', since: 1, cleared: true })),
        );
      }

      const reader = new OwnerRoutes(new Collections(reading, logger, 10), { refreshMs: 60_000 });
      const unrouted: string[] = [];
      for (const owner of owners) {
        if (!removed.includes(owner) && (await reader.lookup(owner)).kind !== 'dedicated') unrouted.push(owner);
      }
      assert.equal(removed.length, 50);
      assert.deepEqual(unrouted, []);
    } finally {
      writer.close();
      reading.close();
      await own.stop();
    }
  });

  it('fails to open on a server that is not there', async () => {
    const port = await freePort();
    await assert.rejects(createChromaVectorStore({ url: `http://127.0.0.1:${port}`, logger }), DependencyUnavailableError);
  });
});
