import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server, type Socket } from 'node:net';
import { ChromaVectorStore, createChromaVectorStore } from '../../src/adapters/chroma/chroma-vector-store.js';
import { userCollectionName } from '../../src/adapters/chroma/collection-name.js';
import { DependencyUnavailableError, isDomainError } from '../../src/domain/errors.js';
import { describeVectorStoreContract, direction, newOwner, vectorRecord } from '../contracts/vector-store.contract.js';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';
import { freePort } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';

const logger = silentLogger();

describeVectorStoreContract('Chroma', async () => {
  const chroma = await startTestChroma();
  const open = (): ChromaVectorStore => new ChromaVectorStore({ url: chroma.url, logger, requestTimeoutMs: 2_000 });
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

  before(async () => {
    chroma = await startTestChroma();
    store = await createChromaVectorStore({ url: chroma.url, logger }) as ChromaVectorStore;
    await store.bindModel({ id: 'chroma-test-model@1', dimensions: 4 });
  });
  after(async () => {
    await store.close();
    await chroma.stop();
  });

  it('names a collection after a hash of tenant and user, within Chroma rules', () => {
    const name = userCollectionName('tenant', 'user@example.com');
    assert.match(name, /^u[0-9a-f]{40}$/);
    assert.notEqual(userCollectionName('ab', 'c'), userCollectionName('a', 'bc'));
  });

  it('creates no collection when it queries, lists or removes for an unknown user', async () => {
    const stranger = newOwner();
    await store.query({ scope: stranger, embedding: direction(1), topK: 5 });
    await store.listIds(stranger.tenantId, stranger.userId);
    await store.remove(stranger.tenantId, stranger.userId, ['x']);

    assert.equal(await collection(userCollectionName(stranger.tenantId, stranger.userId)), null);
  });

  it('makes user collections for cosine, recording owner and model', async () => {
    const owner = newOwner();
    await store.upsert([vectorRecord(owner, direction(1))]);

    const created = await collection(userCollectionName(owner.tenantId, owner.userId));
    assert.deepEqual(created?.['metadata'], {
      tenant_id: owner.tenantId,
      user_id: owner.userId,
      engram_model_id: 'chroma-test-model@1',
      engram_model_dimensions: 4,
    });
    assert.deepEqual((created?.['configuration_json'] as { hnsw: { space: string } }).hnsw.space, 'cosine');
  });

  it('keeps owner, session, role, time and prefixed metadata next to each vector', async () => {
    const owner = newOwner();
    const createdAt = new Date('2025-03-04T05:06:07.089Z');
    await store.upsert([
      vectorRecord(owner, direction(1), { id: 'rich', sessionId: 's', role: 'assistant', createdAt, metadata: { n: 2, ok: false, tag: 'x' } }),
    ]);
    const id = (await collection(userCollectionName(owner.tenantId, owner.userId)))?.['id'];

    const response = await fetch(`${collectionsUrl()}/${String(id)}/get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ['rich'], include: ['metadatas'] }),
    });
    const { metadatas } = (await response.json()) as { metadatas: unknown[] };
    assert.deepEqual(metadatas[0], {
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

  it('fails to open on a server that is not there', async () => {
    const port = await freePort();
    await assert.rejects(createChromaVectorStore({ url: `http://127.0.0.1:${port}`, logger }), DependencyUnavailableError);
  });
});
