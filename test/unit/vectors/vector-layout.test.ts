import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownerKey } from '../../../src/adapters/chroma/collection-name.js';
import { isDomainError } from '../../../src/domain/errors.js';
import { CURRENT_VECTOR_LAYOUT, vectorLayout } from '../../../src/adapters/chroma/vector-layout.js';

/** A deterministic pseudo-random embedding, not of unit length. */
function embedding(seed: number, dimensions = 512): Float32Array {
  const values = new Float32Array(dimensions);
  let state = seed * 2_654_435_761 + 1;
  for (let index = 0; index < dimensions; index += 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    values[index] = state / 2_147_483_648 - 0.5;
  }
  return values;
}

function cosine(left: Float32Array, right: Float32Array): number {
  let dot = 0;
  let leftSquares = 0;
  let rightSquares = 0;
  for (let index = 0; index < left.length; index += 1) {
    const a = left[index] ?? 0;
    const b = right[index] ?? 0;
    dot += a * b;
    leftSquares += a * a;
    rightSquares += b * b;
  }
  return dot / Math.sqrt(leftSquares * rightSquares);
}

describe('vector layouts', () => {
  const signed = vectorLayout(CURRENT_VECTOR_LAYOUT);
  const owner = ownerKey('tenant', 'alice');
  const another = ownerKey('tenant', 'bob');

  it('gives new stores owner signatures, and stores without a recorded layout plain vectors', () => {
    assert.equal(signed.name, 'owner-signed-1');
    assert.equal(vectorLayout(undefined).name, 'plain');
    const vector = embedding(1);
    assert.equal(vectorLayout(undefined).vectorFor(vector, owner), vector);
  });

  it('turns the cosine distance of two signed vectors of one owner back into the cosine of the embeddings', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      const query = embedding(seed);
      const stored = embedding(seed + 1_000);
      const distance = 1 - cosine(signed.vectorFor(query, owner), signed.vectorFor(stored, owner));
      assert.ok(Math.abs(signed.similarity(distance) - cosine(query, stored)) < 1e-5, `seed ${seed}`);
    }
    const same = embedding(7);
    assert.ok(Math.abs(signed.similarity(1 - cosine(signed.vectorFor(same, owner), signed.vectorFor(same, owner))) - 1) < 1e-6);
  });

  it('keeps the order of one owner\'s vectors and sets other owners\' vectors far away', () => {
    const query = embedding(1);
    const stored = Array.from({ length: 20 }, (_, index) => embedding(100 + index));
    const byEmbedding = stored.map((vector, index) => ({ index, score: cosine(query, vector) })).sort((a, b) => b.score - a.score);
    const signedQuery = signed.vectorFor(query, owner);
    const bySigned = stored
      .map((vector, index) => ({ index, score: cosine(signedQuery, signed.vectorFor(vector, owner)) }))
      .sort((a, b) => b.score - a.score);
    assert.deepEqual(bySigned.map((entry) => entry.index), byEmbedding.map((entry) => entry.index));

    // The same embedding under another owner is farther than any unrelated embedding of the owner.
    const worstOwn = Math.min(...bySigned.map((entry) => entry.score));
    assert.ok(cosine(signedQuery, signed.vectorFor(query, another)) < worstOwn);
  });

  it('appends 64 dimensions, the same for every vector of an owner, and never changes the embedding passed in', () => {
    const vector = embedding(3, 8);
    const copy = Float32Array.from(vector);
    const written = signed.vectorFor(vector, owner);
    assert.equal(written.length, 8 + 64);
    assert.deepEqual(vector, copy);
    assert.deepEqual(written.slice(8), signed.vectorFor(embedding(4, 8), owner).slice(8));
    assert.notDeepEqual(written.slice(8), signed.vectorFor(vector, another).slice(8));
  });

  it('refuses a layout it does not know, rather than mixing vectors', () => {
    assert.throws(() => vectorLayout('owner-signed-9'), (error: unknown) => isDomainError(error) && /owner-signed-9/.test(error.message));
  });
});
