import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EmbeddedMemory } from '../../src/domain/memory.js';
import type { Embedder } from '../../src/ports/embedder.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import type { VectorStore } from '../../src/ports/vector-store.js';
import { cosineSimilarity } from '../../src/services/cosine.js';
import { MemorySearch, type SearchHit } from '../../src/services/search-memories.js';
import { withMethod } from '../support/held-step.js';
import { openRealStores, type RealStores } from '../support/real-stores.js';

/**
 * A search reads the rows of its best candidates first and more only when some are gone: a memory
 * deleted from Postgres whose vector Chroma still holds (a delete between the two stores, or a
 * vector left behind) must leave no gap in the page.
 */
describe('MemorySearch pages', () => {
  let stores: RealStores;
  let metadata: MetadataStore;
  let vectors: VectorStore;
  let embedder: Embedder;
  let search: MemorySearch;

  before(async () => {
    stores = await openRealStores('engram-search-page-');
    ({ metadata, vectors, embedder } = stores);
    search = new MemorySearch({ memories: metadata.memories, vectorStore: vectors, embedder });
  });
  after(() => stores.close());

  async function remember(tenantId: string, userId: string, texts: readonly string[]): Promise<EmbeddedMemory[]> {
    const embeddings = await embedder.embed(texts);
    const memories = texts.map((text, index) => ({
      id: randomUUID(),
      tenantId,
      userId,
      sessionId: 'session-1',
      role: 'user' as const,
      text,
      createdAt: new Date(Date.UTC(2025, 0, 1, 12, index)),
      updatedAt: new Date(),
      metadata: {},
      version: index + 1,
      embedding: embeddings[index] ?? new Float32Array(embedder.model.dimensions),
    }));
    await metadata.memories.applyMany(memories);
    await vectors.upsert(memories);
    return memories;
  }

  /** The store's memories, telling how many times rows were read after the rankings (getCandidates). */
  function countingRowReads(): { memories: MetadataStore['memories']; rowReads: () => number } {
    let reads = 0;
    const memories = withMethod(metadata.memories, 'getCandidates', (...args: Parameters<MetadataStore['memories']['getCandidates']>) => {
      reads += 1;
      return metadata.memories.getCandidates(...args);
    });
    return { memories, rowReads: () => reads };
  }

  for (const [path, sketchedUpTo] of [['sketches', undefined], ['vector store', 0]] as const) {
    it(`fills the page past memories whose vectors outlived their rows (ranked by the ${path})`, async () => {
      await fillsThePagePastDeletedMemories(new MemorySearch({ memories: metadata.memories, vectorStore: vectors, embedder, options: { sketchedUpTo } }));
    });
  }

  async function fillsThePagePastDeletedMemories(search: MemorySearch): Promise<void> {
    const tenantId = `t-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const principal = { tenantId, keyId: 'test' };
    const memories = await remember(tenantId, userId, [
      'We adopted a grey kitten called Pepper',
      'Pepper the kitten sleeps on the piano',
      'The kitten Pepper chased a moth all night',
      'I bought new hiking boots for the Alps',
      'My sister moved to Lisbon in the spring',
      'The dentist moved my appointment to Tuesday',
    ]);
    const before = await search.search(principal, { query: 'Pepper the kitten', userId, topK: 3 });
    assert.equal(before.length, 3);
    // The three best go from Postgres only: their vectors still rank first in Chroma.
    for (const hit of before) assert.ok(await metadata.memories.remove(tenantId, hit.memory.id));
    const gone = new Set(before.map((hit) => hit.memory.id));

    const after = await search.search(principal, { query: 'Pepper the kitten', userId, topK: 3 });

    assert.equal(after.length, 3);
    assert.ok(after.every((hit) => !gone.has(hit.memory.id)));
    const live = new Set(memories.map((memory) => memory.id).filter((id) => !gone.has(id)));
    assert.ok(after.every((hit) => live.has(hit.memory.id)));
  }

  it("ranks a small user's memories from their sketches as the vector store ranks them, without asking it", async () => {
    const tenantId = `t-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const principal = { tenantId, keyId: 'test' };
    const texts = [
      'We adopted a grey kitten called Pepper',
      'Our cat sleeps on the warm piano all day',
      'I bought new hiking boots for the Alps',
      'My sister moved to Lisbon in the spring',
      'The dentist moved my appointment to Tuesday',
      'Grandma bakes plum cake on Sundays',
      'The train to Porto leaves at seven',
      'I am learning to play the cello',
    ];
    const memories = new Map((await remember(tenantId, userId, texts)).map((memory) => [memory.id, memory]));
    let vectorQueries = 0;
    // The real store, its queries counted.
    const counted = withMethod(vectors, 'query', (vectorQuery: Parameters<VectorStore['query']>[0]) => {
      vectorQueries += 1;
      return vectors.query(vectorQuery);
    });
    // Meaning alone, deep enough to rank every memory.
    const options = { lexicalWeight: 0, depth: texts.length };
    const sketched = new MemorySearch({ memories: metadata.memories, vectorStore: counted, embedder, options });
    const unsketched = new MemorySearch({ memories: metadata.memories, vectorStore: counted, embedder, options: { ...options, sketchedUpTo: 0 } });
    const query = 'a pet that naps on the piano';
    const [queryVector] = await embedder.embed([query]);
    assert.ok(queryVector !== undefined);

    const bySketches = await sketched.search(principal, { query, userId, topK: texts.length });
    assert.equal(vectorQueries, 0);
    const byStore = await unsketched.search(principal, { query, userId, topK: texts.length });
    assert.equal(vectorQueries, 1);

    // A user the vector store wants no ids of (one of their own collection): a session of theirs
    // is still ranked from its sketches, their whole scope by the store.
    const ownCollection = new MemorySearch({ memories: metadata.memories, vectorStore: withMethod(counted, 'idsWanted', () => Promise.resolve(0)), embedder, options });
    const inSession = await ownCollection.search(principal, { query, userId, sessionId: 'session-1', topK: texts.length });
    assert.equal(vectorQueries, 1);
    assert.deepEqual(inSession.map((hit) => hit.memory.id), bySketches.map((hit) => hit.memory.id));
    await ownCollection.search(principal, { query, userId, topK: texts.length });
    assert.equal(vectorQueries, 2);

    assert.equal(bySketches.length, texts.length);
    assert.deepEqual(bySketches.map((hit) => hit.memory.id), byStore.map((hit) => hit.memory.id));
    assert.ok(bySketches[0]?.memory.text?.includes('piano') === true || bySketches[0]?.memory.text?.includes('kitten') === true);
    for (const hit of bySketches) {
      const stored = memories.get(hit.memory.id);
      assert.ok(stored !== undefined);
      assert.ok(Math.abs(hit.similarity - cosineSimilarity(queryVector, stored.embedding)) < 2e-3, hit.memory.text ?? '');
    }
  });

  it('gives every hit its memory and similarity, whether the word search brought the memory along or it was read after', async () => {
    const tenantId = `t-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const principal = { tenantId, keyId: 'test' };
    const texts = [
      'The zeppelin museum opens at nine',
      'We adopted a grey kitten called Pepper',
      'Our cat sleeps on the warm piano all day',
      'The kitten chased a moth around the kitchen',
      'My tabby cat purrs when she is fed',
      'Grandma bakes plum cake on Sundays',
    ];
    const memories = new Map((await remember(tenantId, userId, texts)).map((memory) => [memory.id, memory]));
    // A shallow vector ranking: the word search alone finds the zeppelin, whose similarity is then
    // computed from its stored vector; the meaning alone finds the pet.
    const shallow = new MemorySearch({ memories: metadata.memories, vectorStore: vectors, embedder, options: { depth: 2 } });
    const query = 'my kitten, my cat, or the zeppelin';
    const [queryVector] = await embedder.embed([query]);
    assert.ok(queryVector !== undefined);
    const byMeaning = await vectors.query({ scope: { tenantId, userId }, embedding: queryVector, topK: 2 });

    const hits = await shallow.search(principal, { query, userId, topK: 4 });

    assert.ok(hits.some((hit) => hit.memory.text?.includes('zeppelin') === true && !byMeaning.some((match) => match.id === hit.memory.id)));
    assert.ok(hits.some((hit) => byMeaning.some((match) => match.id === hit.memory.id)));
    for (const hit of hits) {
      const stored = memories.get(hit.memory.id);
      assert.ok(stored !== undefined);
      assert.equal(hit.memory.text, stored.text);
      assert.equal(hit.memory.userId, userId);
      assert.deepEqual(hit.memory.metadata, stored.metadata);
      assert.ok(Math.abs(hit.similarity - cosineSimilarity(queryVector, stored.embedding)) < 1e-3, hit.memory.text ?? '');
      assert.equal('embedding' in hit.memory, false);
    }
  });

  it("measures a small user's word matches from their sketches, reading no row after the ranking", async () => {
    const tenantId = `t-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const texts = ['The zeppelin museum opens at nine', 'Our cat sleeps on the warm piano all day', 'My tabby cat purrs when she is fed', 'Grandma bakes plum cake on Sundays'];
    const memories = new Map((await remember(tenantId, userId, texts)).map((memory) => [memory.id, memory]));
    const { memories: counted, rowReads } = countingRowReads();
    // One deep: the zeppelin, first by its rare word, is not the vector ranking's first; its
    // similarity is its sketch's, as the others' are.
    const shallow = new MemorySearch({ memories: counted, vectorStore: vectors, embedder, options: { depth: 1 } });
    const query = 'my cat or the zeppelin';
    const [queryVector] = await embedder.embed([query]);
    assert.ok(queryVector !== undefined);

    const [nearest] = await vectors.query({ scope: { tenantId, userId }, embedding: queryVector, topK: 1 });

    const hits = await shallow.search({ tenantId, keyId: 'test' }, { query, userId, topK: 1 });

    assert.equal(rowReads(), 0);
    assert.equal(hits.length, 1);
    assert.ok(hits[0]?.memory.text?.includes('zeppelin') === true && hits[0].memory.id !== nearest?.id);
    for (const hit of hits) {
      const stored = memories.get(hit.memory.id);
      assert.ok(stored !== undefined);
      assert.ok(Math.abs(hit.similarity - cosineSimilarity(queryVector, stored.embedding)) < 2e-3, hit.memory.text ?? '');
    }
  });

  it("takes a large user's similarities from the sketches the word search brought, reading no row after the vector search", async () => {
    const tenantId = `t-${randomUUID()}`;
    const principal = { tenantId, keyId: 'test' };
    let seed = 7;
    const noise = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 1_073_741_824 - 1;
    };
    /** `count` turns, one in a hundred about a zeppelin, each with a vector of its own. */
    const store = async (userId: string, count: number): Promise<Map<string, EmbeddedMemory>> => {
      const memories = Array.from({ length: count }, (_, index) => ({
        id: `${userId}-${index}`,
        tenantId,
        userId,
        sessionId: `session-${Math.floor(index / 50)}`,
        role: 'user' as const,
        text: index % 100 === 7 ? `the zeppelin over the garden (${index})` : `the garden again (${index})`,
        createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
        updatedAt: new Date(),
        metadata: {},
        version: index + 1,
        embedding: Float32Array.from({ length: embedder.model.dimensions }, noise),
      }));
      await metadata.memories.applyMany(memories);
      await vectors.upsert(memories);
      return new Map(memories.map((memory) => [memory.id, memory]));
    };
    const { memories: counted, rowReads } = countingRowReads();
    const counting = new MemorySearch({ memories: counted, vectorStore: vectors, embedder });
    const query = 'the zeppelin';
    const [queryVector] = await embedder.embed([query]);
    assert.ok(queryVector !== undefined);
    /**
     * The stored memory of a hit, whose similarity must be the cosine of its stored vector: exactly
     * when it was read, within a sketch's error when it came with its sketch.
     */
    const measuredFrom = (hit: SearchHit, stored: ReadonlyMap<string, EmbeddedMemory>, tolerance: number): EmbeddedMemory => {
      const memory = stored.get(hit.memory.id);
      assert.ok(memory !== undefined);
      assert.ok(Math.abs(hit.similarity - cosineSimilarity(queryVector, memory.embedding)) < tolerance, hit.memory.id);
      return memory;
    };

    // 1,300 memories: a large user (LARGE_USER_FROM and more), whose best word matches come with sketches.
    const large = await store('large', 1_300);
    const hits = await counting.search(principal, { query, userId: 'large', topK: 5 });
    assert.equal(hits.length, 5);
    assert.equal(rowReads(), 0);
    for (const hit of hits) {
      const stored = measuredFrom(hit, large, 2e-3);
      assert.equal(hit.memory.text, stored.text);
      assert.ok(hit.memory.text?.includes('zeppelin'), hit.memory.text ?? '');
      assert.equal('embedding' in hit.memory, false);
    }

    // A smaller user's best word matches come without sketches: those the vector search missed are
    // read after it, and measured from their vectors.
    const small = await store('small', 300);
    const smallHits = await counting.search(principal, { query, userId: 'small', topK: 3 });
    assert.equal(smallHits.length, 3);
    assert.equal(rowReads(), 1);
    for (const hit of smallHits) measuredFrom(hit, small, 1e-6);
  });

  it("gives a hit no context turn of another user when it moves to them before its neighbours are read", async () => {
    const tenantId = `t-${randomUUID()}`;
    const [ann, bob] = [`ann-${randomUUID()}`, `bob-${randomUUID()}`];
    const principal = { tenantId, keyId: 'test' };
    const turns = await remember(tenantId, ann, ['We planted tomatoes in the garden', 'The tomatoes need water every day', 'I repaired the fence']);
    await remember(tenantId, bob, ['Bob keeps bees on the roof', 'Bob sold honey at the market', 'Bob fixed his bicycle']);
    // A worker applies a write giving the hit to Bob, in his session, right before its neighbours are read.
    const memories = withMethod(metadata.memories, 'findNeighbours', async (...args: Parameters<MetadataStore['memories']['findNeighbours']>) => {
      const moved = turns.find((turn) => turn.id === args[1][0]);
      assert.ok(moved !== undefined);
      await metadata.memories.applyMany([{ ...moved, userId: bob, version: 1_000, updatedAt: new Date() }]);
      return metadata.memories.findNeighbours(...args);
    });
    const moving = new MemorySearch({ memories, vectorStore: vectors, embedder });

    const [hit, ...rest] = await moving.search(principal, { query: 'tomatoes in the garden', userId: ann, topK: 1, context: 2 });

    assert.equal(rest.length, 0);
    assert.equal(hit?.memory.userId, ann);
    assert.deepEqual(hit?.context, []);
  });

  it('reads every candidate at once under a similarity floor, still leaving the deleted out', async () => {
    const tenantId = `t-${randomUUID()}`;
    const userId = `u-${randomUUID()}`;
    const principal = { tenantId, keyId: 'test' };
    await remember(tenantId, userId, ['Our boat is moored in the fjord', 'We sail the fjord every summer', 'The fjord water is cold']);
    const [best] = await search.search(principal, { query: 'sailing in the fjord', userId, topK: 1 });
    assert.ok(best !== undefined);
    assert.ok(await metadata.memories.remove(tenantId, best.memory.id));

    const hits = await search.search(principal, { query: 'sailing in the fjord', userId, topK: 5, minScore: -1 });

    assert.equal(hits.length, 2);
    assert.ok(hits.every((hit) => hit.memory.id !== best.memory.id && hit.similarity >= -1));
  });
});
