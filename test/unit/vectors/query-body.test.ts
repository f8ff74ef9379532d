import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeQueryBody } from '../../../src/adapters/chroma/query-body.js';
import { isDomainError } from '../../../src/domain/errors.js';

describe('a Chroma query body', () => {
  const vector = new Float32Array([0.0123456789, -0.5, 0, -0, 1e-9, 3.4e38, -1.17549435e-38, 0.1]);

  it('reads back as the numbers of the vector, as JSON.stringify would write them', () => {
    const body = encodeQueryBody({ vector, nResults: 7, ids: ['a:1', 'b"2'], where: { owner: { $eq: 'x' } } });
    const expected = { query_embeddings: [Array.from(vector)], n_results: 7, include: ['distances'], ids: ['a:1', 'b"2'], where: { owner: { $eq: 'x' } } };
    assert.deepEqual(JSON.parse(body), JSON.parse(JSON.stringify(expected)));
    assert.deepEqual((JSON.parse(body) as { query_embeddings: number[][] }).query_embeddings[0], Array.from(vector, (value) => (Object.is(value, -0) ? 0 : value)));
  });

  it('leaves out ids and where when not given', () => {
    assert.deepEqual(JSON.parse(encodeQueryBody({ vector: new Float32Array([0.25]), nResults: 3 })), {
      query_embeddings: [[0.25]],
      n_results: 3,
      include: ['distances'],
    });
  });

  it('refuses a vector that JSON cannot hold', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => encodeQueryBody({ vector: new Float32Array([0.1, bad]), nResults: 1 }),
        (error: unknown) => isDomainError(error) && error.code === 'vector_store_error',
      );
    }
  });
});
