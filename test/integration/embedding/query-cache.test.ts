import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withQueryCache } from '../../../src/adapters/embedding/query-cache.js';
import { createUseLiteEmbedder } from '../../../src/adapters/embedding/use-lite-embedder.js';
import type { Embedder } from '../../../src/ports/embedder.js';
import { silentLogger } from '../../support/logger.js';

/** The real model, counting the texts that reach it. */
interface CountingEmbedder extends Embedder {
  readonly seen: string[];
}

function counting(inner: Embedder): CountingEmbedder {
  const seen: string[] = [];
  return {
    seen,
    model: inner.model,
    async embed(texts) {
      seen.push(...texts);
      return inner.embed(texts);
    },
    close: async () => {},
  };
}

describe('the query cache', () => {
  let model: Embedder;
  before(async () => {
    model = await createUseLiteEmbedder({ logger: silentLogger() });
  });
  after(async () => {
    await model.close();
  });

  it('answers a repeated query from the cache without calling the model', async () => {
    const inner = counting(model);
    const cache = withQueryCache(inner);
    const [first] = await cache.embed(["What is my dog's name?"]);
    const [again] = await cache.embed(["What is my dog's name?"]);
    assert.deepEqual(inner.seen, ["What is my dog's name?"]);
    assert.deepEqual(again, first);
  });

  it('sends only the misses to the model, each once, and answers in order', async () => {
    const inner = counting(model);
    const cache = withQueryCache(inner);
    const [known] = await cache.embed(['known']);
    const vectors = await cache.embed(['new', 'known', 'new']);
    assert.deepEqual(inner.seen, ['known', 'new']);
    assert.deepEqual(vectors[1], known);
    assert.deepEqual(vectors[0], vectors[2]);
    assert.notDeepEqual(vectors[0], known);
  });

  it('evicts the least recently used query beyond maxEntries', async () => {
    const inner = counting(model);
    const cache = withQueryCache(inner, { maxEntries: 2 });
    await cache.embed(['a']);
    await cache.embed(['b']);
    await cache.embed(['a']); // a is now fresher than b
    await cache.embed(['c']); // so b goes
    inner.seen.length = 0;
    await cache.embed(['a', 'c']);
    assert.deepEqual(inner.seen, []);
    await cache.embed(['b']);
    assert.deepEqual(inner.seen, ['b']);
  });

  it('hands out copies, so a caller that changes its vector cannot change the cache', async () => {
    const cache = withQueryCache(counting(model));
    const [first] = await cache.embed(['mutable']);
    assert.ok(first);
    const original = first.slice();
    first.fill(0);
    const [again] = await cache.embed(['mutable']);
    assert.deepEqual(again, original);
  });

  it('has the model of the embedder it wraps and closes it', async () => {
    let closed = false;
    const inner: Embedder = { ...counting(model), close: async () => void (closed = true) };
    const cache = withQueryCache(inner);
    assert.deepEqual(cache.model, model.model);
    await cache.close();
    assert.equal(closed, true);
  });
});
