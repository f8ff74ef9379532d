import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChromaHttp } from '../../src/adapters/chroma/chroma-http.js';
import { ChromaVectorStore, type ChromaVectorStoreOptions } from '../../src/adapters/chroma/chroma-vector-store.js';
import { ownerKey, ROUTES_COLLECTION } from '../../src/adapters/chroma/collection-name.js';
import { Collections } from '../../src/adapters/chroma/collections.js';
import { OwnerRoutes } from '../../src/adapters/chroma/owner-routes.js';
import { memoryIdOfRecord, storedRecordId } from '../../src/adapters/chroma/record-id.js';
import { direction, newOwner, vectorRecord } from '../contracts/vector-store.contract.js';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';
import { msToNextRequest, startChromaProxy, startNotingProxy } from '../support/chroma-proxy.js';
import { silentLogger } from '../support/logger.js';

const logger = silentLogger();
const MODEL = { id: 'chroma-test-model@1', dimensions: 4 };
/** With one bucket every owner shares it: its first generation and the next ones. */
const BUCKET = 'engram_b1_0';

type Owner = ReturnType<typeof newOwner>;

describe('A bucket rebuilt without its removed records', () => {
  let chroma: TestChroma;
  const collectionsUrl = (): string => `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  const exists = async (name: string): Promise<boolean> => (await fetch(`${collectionsUrl()}/${name}`)).status !== 404;
  /** Chroma's answer to a `get` of the collection named `name`. */
  const getFrom = async <T>(name: string, body: Record<string, unknown>): Promise<T> => {
    const found = (await (await fetch(`${collectionsUrl()}/${name}`)).json()) as { id: string };
    const response = await fetch(`${collectionsUrl()}/${found.id}/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as T;
  };
  /** The memory ids a collection holds for all owners, sorted. */
  const heldIn = async (name: string): Promise<string[]> =>
    (await getFrom<{ ids: string[] }>(name, { include: [], limit: 100_000 })).ids.map(memoryIdOfRecord).sort();
  /** The vectors a collection holds for some memory ids of any owner, by memory id. */
  const embeddingsIn = async (name: string, memoryIds: readonly string[]): Promise<Map<string, readonly number[]>> => {
    const wanted = new Set(memoryIds);
    const answer = await getFrom<{ ids: string[]; embeddings: number[][] }>(name, { include: ['embeddings'], limit: 100_000 });
    return new Map(answer.ids.map((id, index) => [memoryIdOfRecord(id), answer.embeddings[index] ?? []] as const).filter(([id]) => wanted.has(id)));
  };
  const bucketState = async (): Promise<Record<string, unknown> | undefined> =>
    (await getFrom<{ metadatas: Array<Record<string, unknown>> }>(ROUTES_COLLECTION, { ids: [`bucket:${BUCKET}`], include: ['metadatas'] })).metadatas[0];
  const open = async (options: Partial<ChromaVectorStoreOptions> = {}): Promise<ChromaVectorStore> => {
    const store = new ChromaVectorStore({ url: chroma.url, logger, buckets: 1, rebuildAfterRemoved: 20, promotionGraceMs: 200, ...options });
    await store.bindModel(MODEL);
    return store;
  };
  const write = (store: ChromaVectorStore, owner: Owner, prefix: string, count: number, from = 0): Promise<void> =>
    store.upsert(Array.from({ length: count }, (_, index) => vectorRecord(owner, direction(1, (from + index) / 7), { id: `${prefix}${from + index}` })));
  const ids = (prefix: string, count: number, from = 0): string[] => Array.from({ length: count }, (_, index) => `${prefix}${from + index}`);
  const sorted = (values: readonly string[]): string[] => [...values].sort();
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    chroma = await startTestChroma();
  });
  after(async () => {
    await chroma.stop();
  });

  // Each case starts on a Chroma of its own: the bucket and its generations are the case's.
  const fresh = async (): Promise<void> => {
    await chroma.stop();
    chroma = await startTestChroma();
  };

  it('copies the live records to the next generation once four times as many were removed, then drops the old one after the grace', async () => {
    await fresh();
    const store = await open();
    const keeper = newOwner();
    const leaver = newOwner();
    await write(store, keeper, 'k', 5);
    await write(store, leaver, 'l', 45);
    // 19 removed is under the threshold (20); 36 is not over four times the 14 left; 41 is over 4 × 9.
    await store.remove(leaver.tenantId, leaver.userId, ids('l', 19));
    await store.remove(leaver.tenantId, leaver.userId, ids('l', 17, 19));
    await store.settle();
    assert.equal(await exists(`${BUCKET}_g1`), false);
    await store.remove(leaver.tenantId, leaver.userId, ids('l', 5, 36));
    await store.settle();

    assert.equal((await bucketState())?.['state'], 'rebuilt');
    assert.deepEqual(await heldIn(`${BUCKET}_g1`), sorted([...ids('k', 5), ...ids('l', 4, 41)]));
    assert.deepEqual(sorted(await store.listIds(keeper.tenantId, keeper.userId)), sorted(ids('k', 5)));
    const best = await store.query({ scope: leaver, embedding: direction(1, 43 / 7), topK: 1 });
    assert.deepEqual(best.map((match) => match.id), ['l43']);
    const named = await store.query({ scope: keeper, embedding: direction(1), topK: 3, ids: ids('k', 5) });
    assert.deepEqual(named.map((match) => match.id), ['k0', 'k1', 'k2']);

    // Within the grace the old generation still takes writes; after it, a write drops it.
    await write(store, keeper, 'k', 1, 5);
    assert.ok((await heldIn(BUCKET)).includes('k5'));
    await pause(300);
    await write(store, keeper, 'k', 1, 6);
    assert.equal(await exists(BUCKET), false);
    assert.equal((await bucketState())?.['cleared'], true);
    assert.deepEqual(sorted(await store.listIds(keeper.tenantId, keeper.userId)), sorted(ids('k', 7)));
    await store.close();
  });

  it('counts an erased owner as removed, and rebuilds a generation again', async () => {
    await fresh();
    const store = await open({ promotionGraceMs: 0 });
    const keeper = newOwner();
    await write(store, keeper, 'k', 5);
    for (const round of [1, 2]) {
      const erased = newOwner();
      await write(store, erased, 'e', 30);
      await store.removeUser(erased.tenantId, erased.userId);
      await store.settle();
      assert.equal((await bucketState())?.['generation'], round);
      assert.deepEqual(await heldIn(`${BUCKET}_g${round}`), sorted(ids('k', 5)));
      // A write past the grace drops the previous generation, so that the next rebuild may start.
      await write(store, keeper, 'k', 1, 4);
      assert.equal(await exists(round === 1 ? BUCKET : `${BUCKET}_g1`), false);
    }
    assert.deepEqual(sorted(await store.listIds(keeper.tenantId, keeper.userId)), sorted(ids('k', 5)));
    await store.close();
  });

  it('loses no write and brings back no removal of a process that has not yet seen the rebuild', async () => {
    await fresh();
    const stale = await open({ routeRefreshMs: 600_000 });
    const rebuilder = await open({ promotionGraceMs: 0 });
    const owner = newOwner();
    await write(stale, owner, 'a', 5);
    const leaver = newOwner();
    await write(rebuilder, leaver, 'l', 30);
    await rebuilder.remove(leaver.tenantId, leaver.userId, ids('l', 30));
    await rebuilder.settle();
    await write(rebuilder, owner, 'a', 1, 5);
    assert.equal(await exists(BUCKET), false);

    // The stale process writes and removes by the first generation, which it makes again, then
    // confirms the state: it writes and removes in the new generation, and drops the old again.
    await stale.upsert([vectorRecord(owner, direction(0, 1), { id: 'from-stale' })]);
    await stale.remove(owner.tenantId, owner.userId, ['a0', 'a1']);
    assert.equal(await exists(BUCKET), false);
    assert.deepEqual(sorted(await rebuilder.listIds(owner.tenantId, owner.userId)), sorted([...ids('a', 4, 2), 'from-stale']));
    const best = await rebuilder.query({ scope: owner, embedding: direction(0, 1), topK: 1 });
    assert.deepEqual(best.map((match) => match.id), ['from-stale']);
    for (const store of [stale, rebuilder]) await store.close();
  });

  it('keeps every write and removal made by another process while the copy runs', async () => {
    await fresh();
    const rebuilder = await open({ rebuildAfterRemoved: 500, rebuildAfterRemovedPerHeld: 1, promotionGraceMs: 100 });
    const writer = await open({ routeRefreshMs: 50, promotionGraceMs: 100 });
    const owner = newOwner();
    const leaver = newOwner();
    for (let from = 0; from < 3_000; from += 1_000) await write(rebuilder, owner, 'o', 1_000, from);
    for (let from = 0; from < 3_500; from += 1_000) await write(rebuilder, leaver, 'l', Math.min(1_000, 3_500 - from), from);

    // The removal starts the rebuild and returns; the other process writes, rewrites and removes
    // beside the copy until it is over, and a while after.
    await rebuilder.remove(leaver.tenantId, leaver.userId, ids('l', 3_500));
    const expected = new Set(ids('o', 3_000));
    let copying = true;
    const copied = rebuilder.settle().then(() => {
      copying = false;
    });
    let round = 0;
    let roundsBeside = 0;
    while (copying || round < 5) {
      if (copying) roundsBeside += 1;
      await write(writer, owner, 'n', 20, round * 20);
      for (const id of ids('n', 20, round * 20)) expected.add(id);
      const moved = ids('o', 20, round * 20);
      await writer.upsert(moved.map((id, index) => vectorRecord(owner, direction(0, 0, 1, (round * 20 + index) / 500), { id })));
      const gone = ids('o', 10, 2_000 + round * 10);
      await writer.remove(owner.tenantId, owner.userId, gone);
      for (const id of gone) expected.delete(id);
      round += 1;
    }
    await copied;
    assert.ok(roundsBeside >= 2, 'the other process wrote while the copy ran');
    await pause(150);
    await write(writer, owner, 'last', 1);
    expected.add('last0');

    assert.equal((await bucketState())?.['state'], 'rebuilt');
    assert.equal(await exists(BUCKET), false);
    assert.deepEqual(await heldIn(`${BUCKET}_g1`), sorted([...expected]));
    // The rewritten records hold their new vectors, the others their first.
    const vectors = await embeddingsIn(`${BUCKET}_g1`, ids('o', 20 * round).filter((id) => expected.has(id)));
    assert.ok(vectors.size > 0);
    for (const [id, vector] of vectors) assert.ok((vector[2] ?? 0) > 0.5, `${id} holds its new vector`);
    assert.ok(((await embeddingsIn(`${BUCKET}_g1`, ['o2999'])).get('o2999')?.[2] ?? 1) < 0.01);
    for (const store of [rebuilder, writer]) await store.close();
  });

  it('finishes a removal whose report of the removed records fails', async () => {
    await fresh();
    // Before Chroma, a proxy answers the next upsert (the report is the removal's only one) with 503.
    let failNextUpsert = false;
    const proxy = await startChromaProxy(chroma.url, (request) => {
      if (!failNextUpsert || request.url?.endsWith('/upsert') !== true) return null;
      failNextUpsert = false;
      return { status: 503, body: { error: 'Unavailable', message: 'not now' } };
    });
    const proxied = new ChromaVectorStore({ url: proxy.url, logger, buckets: 1, rebuildAfterRemoved: 20 });
    try {
      await proxied.bindModel(MODEL);
      const owner = newOwner();
      await write(proxied, owner, 'a', 10);
      failNextUpsert = true;
      await proxied.remove(owner.tenantId, owner.userId, ids('a', 5));
      assert.equal(failNextUpsert, false, 'the report was sent and refused');
      assert.deepEqual(sorted(await proxied.listIds(owner.tenantId, owner.userId)), sorted(ids('a', 5, 5)));
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('reports an erasure in one read of the routes, and counts the bucket around its first sweep only', async () => {
    await fresh();
    // A proxy before Chroma notes the requests it forwards.
    const { proxy, arrivals } = await startNotingProxy(chroma.url);
    const proxied = new ChromaVectorStore({ url: proxy.url, logger, buckets: 1, rebuildAfterRemoved: 1_000 });
    try {
      await proxied.bindModel(MODEL);
      // A first erasure's report makes the routes collection.
      const first = newOwner();
      await write(proxied, first, 'f', 10);
      await proxied.removeUser(first.tenantId, first.userId);
      const owner = newOwner();
      await write(proxied, owner, 'a', 10);
      const erasureFrom = arrivals.length;
      await proxied.removeUser(owner.tenantId, owner.userId);
      const seen = arrivals.slice(erasureFrom).map(({ request }) => request);
      const times = (request: string): number => seen.filter((noted) => noted === request).length;
      // The report's one read of the bucket's state and removals, and the second sweep's state.
      assert.equal(times('POST get'), 2, seen.join(', '));
      assert.equal(times('GET count'), 2, seen.join(', '));
      assert.equal(times('POST upsert'), 1, seen.join(', '));
      assert.deepEqual(await proxied.listIds(owner.tenantId, owner.userId), []);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('rests after each request of the copy as long as the request took', async () => {
    await fresh();
    // A proxy before Chroma holds every add back 200 ms, and notes when requests reach it.
    const HELD_BACK_MS = 200;
    const { proxy, arrivals } = await startNotingProxy(chroma.url, (request) => (request.url?.endsWith('/add') === true ? HELD_BACK_MS : 0));
    const proxied = new ChromaVectorStore({ url: proxy.url, logger, buckets: 1, rebuildAfterRemoved: 20 });
    try {
      await proxied.bindModel(MODEL);
      const keeper = newOwner();
      const leaver = newOwner();
      await write(proxied, keeper, 'k', 5);
      await write(proxied, leaver, 'l', 45);
      const erasureFrom = arrivals.length;
      await proxied.removeUser(leaver.tenantId, leaver.userId);
      await proxied.settle();
      assert.deepEqual(await heldIn(`${BUCKET}_g1`), sorted(ids('k', 5)));
      // After the erasure nobody writes: the one add is the copy's, and its next request waits
      // for the add (held back, then done by Chroma) and as long again.
      const gap = msToNextRequest(arrivals.slice(erasureFrom), 'POST add');
      assert.ok(gap >= 2 * HELD_BACK_MS - 10, `the copy's next request came ${gap.toFixed(0)} ms after its add`);
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('starts again a rebuild that stalled, on the next write to its bucket', async () => {
    await fresh();
    const store = await open({ stalledMigrationMs: 60_000 });
    const owner = newOwner();
    await write(store, owner, 'a', 10);
    // A rebuild that began an hour ago and never finished: its process stopped during the copy,
    // leaving a next generation that holds a record removed since.
    const http = new ChromaHttp({ url: chroma.url, requestTimeoutMs: 5_000 });
    const routes = new OwnerRoutes(new Collections(http, logger, 10), { refreshMs: 2_000 });
    await routes.setBucket(BUCKET, { kind: 'rebuilding', generation: 0, since: Date.now() - 3_600_000 });
    http.close();
    const made = (await (
      await fetch(collectionsUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${BUCKET}_g1` }) })
    ).json()) as { id: string };
    const added = await fetch(`${collectionsUrl()}/${made.id}/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [`${storedRecordId(ownerKey(owner.tenantId, owner.userId), 'removed-since')}`], embeddings: [Array.from({ length: 68 }, (_, index) => (index === 0 ? 1 : 0))] }),
    });
    assert.equal(added.status, 201);

    await write(store, owner, 'a', 1, 10);
    await store.settle();

    assert.equal((await bucketState())?.['state'], 'rebuilt');
    assert.deepEqual(await heldIn(`${BUCKET}_g1`), sorted(ids('a', 11)));
    await store.close();
  });
});
