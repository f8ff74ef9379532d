import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeQueryBody } from '../../../src/adapters/chroma/query-body.js';
import { isDomainError } from '../../../src/domain/errors.js';

describe('a Chroma query body', () => {
  const vector = new Float32Array([0.0123456789, -0.5, 0, -0, 1e-9, 3.4e38, -1.17549435e-38, 0.1]);

  it('reads back as the 32-bit floats of the vector, with the ids and filter as given', () => {
    const body = JSON.parse(encodeQueryBody({ vector, nResults: 7, ids: ['a:1', 'b"2'], where: { owner: { $eq: 'x' } } })) as {
      query_embeddings: number[][];
    };
    const { query_embeddings: embeddings, ...rest } = body;
    assert.deepEqual(rest, { n_results: 7, include: ['distances'], ids: ['a:1', 'b"2'], where: { owner: { $eq: 'x' } } });
    assert.equal(embeddings.length, 1);
    assert.deepEqual(Float32Array.from(embeddings[0] ?? []), Float32Array.from(vector, (value) => (Object.is(value, -0) ? 0 : value)));
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
