import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sketchOf, sketchQueryOf, sketchSimilarity } from '../../../src/domain/vector-sketch.js';
import { cosineSimilarity } from '../../../src/services/cosine.js';
import { rankBySketches } from '../../../src/services/sketch-ranking.js';

/** Vectors of `dimensions` values drawn around zero from a fixed seed (a linear congruential generator). */
function vectors(count: number, dimensions: number, seed: number): Float32Array[] {
  let state = seed;
  const next = (): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 1_073_741_824 - 1;
  };
  // A sum of three draws: values crowd near zero and a few stand out, as an encoder's do.
  return Array.from({ length: count }, () => Float32Array.from({ length: dimensions }, () => next() + next() + next()));
}

describe('vector sketches', () => {
  it('give the cosine of the sketched vector within 0.002, whatever its length', () => {
    const [query, ...others] = vectors(201, 512, 11);
    assert.ok(query !== undefined);
    const prepared = sketchQueryOf(query);
    assert.ok(prepared !== null);
    let largestError = 0;
    for (const vector of others) {
      const scaled = vector.map((value) => value * 37.5);
      const error = Math.abs(sketchSimilarity(prepared, sketchOf(scaled)) - cosineSimilarity(query, vector));
      largestError = Math.max(largestError, error);
    }
    assert.ok(largestError < 0.002, String(largestError));
    assert.ok(Math.abs(sketchSimilarity(prepared, sketchOf(query)) - 1) < 0.002);
    assert.ok(Math.abs(sketchSimilarity(prepared, sketchOf(query.map((value) => -value))) + 1) < 0.002);
  });

  it('hold 8 bits a dimension and a scale, read wherever they lie in a buffer', () => {
    const [vector] = vectors(1, 16, 5);
    assert.ok(vector !== undefined);
    const sketch = sketchOf(vector);
    assert.equal(sketch.byteLength, 4 + 16);
    const shifted = new Uint8Array(sketch.byteLength + 3);
    shifted.set(sketch, 3);
    const prepared = sketchQueryOf(vector);
    assert.ok(prepared !== null);
    assert.equal(sketchSimilarity(prepared, shifted.subarray(3)), sketchSimilarity(prepared, sketch));
  });

  it('rank nothing by accident: a zero vector, a query of no direction, a sketch of another dimension', () => {
    const zero = sketchOf(new Float32Array(8));
    assert.deepEqual([...zero], new Array(12).fill(0));
    assert.equal(sketchQueryOf(new Float32Array(8)), null);
    const prepared = sketchQueryOf(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.ok(prepared !== null);
    assert.equal(sketchSimilarity(prepared, zero), 0);
    assert.equal(sketchSimilarity(prepared, sketchOf(Float32Array.from([1, 2, 3]))), 0);
  });

  it('rank memories as their exact cosines do, best first, ties by id, up to the limit', () => {
    const [query, ...others] = vectors(41, 64, 3);
    assert.ok(query !== undefined);
    const sketches = new Map(others.map((vector, index) => [`memory-${index}`, sketchOf(vector)]));
    const exact = others
      .map((vector, index) => ({ id: `memory-${index}`, score: cosineSimilarity(query, vector) }))
      .sort((left, right) => right.score - left.score);

    const ranked = rankBySketches(query, sketches, 10);

    assert.equal(ranked.length, 10);
    for (let place = 1; place < ranked.length; place += 1) assert.ok((ranked[place - 1]?.score ?? 0) >= (ranked[place]?.score ?? 0));
    // Only near ties may swap: every place holds a memory whose exact cosine is that place's within the error.
    ranked.forEach((match, place) => assert.ok(Math.abs(match.score - (exact[place]?.score ?? 0)) < 0.004, match.id));
    const twins = new Map([['b', sketchOf(Float32Array.from([1, 0]))], ['a', sketchOf(Float32Array.from([1, 0]))]]);
    assert.deepEqual(rankBySketches(Float32Array.from([1, 0]), twins, 5).map((match) => match.id), ['a', 'b']);
    assert.deepEqual(rankBySketches(new Float32Array(64), sketches, 5), []);
  });
});
