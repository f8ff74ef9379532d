import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestsInAnswer, withDigest } from '../../../src/adapters/chroma/record-digest.js';
import { DIGEST_KEY } from '../../../src/adapters/chroma/record-metadata.js';

const vector = (...values: number[]): Float32Array => Float32Array.from(values);

describe('record digests', () => {
  it('agree for the same vector and metadata, in any key order, whatever digest the record was read with', () => {
    const written = withDigest({ id: 'a', embedding: vector(1, 0.5), metadata: new Map<string, string | number>([['owner', 'o'], ['created_at', 5]]) });
    const read = withDigest({
      id: 'a',
      embedding: vector(1, 0.5),
      metadata: new Map<string, string | number>([[DIGEST_KEY, 'stale'], ['created_at', 5], ['owner', 'o']]),
    });
    assert.equal(read.digest, written.digest);
    assert.equal(read.metadata.get(DIGEST_KEY), written.digest);
    assert.equal(written.metadata.get('owner'), 'o');
  });

  it('differ when the vector or a metadata value differs', () => {
    const base = withDigest({ id: 'a', embedding: vector(1, 0.5), metadata: new Map([['owner', 'o']]) });
    assert.notEqual(withDigest({ id: 'a', embedding: vector(1, 0.25), metadata: new Map([['owner', 'o']]) }).digest, base.digest);
    assert.notEqual(withDigest({ id: 'a', embedding: vector(1, 0.5), metadata: new Map([['owner', 'p']]) }).digest, base.digest);
    assert.notEqual(withDigest({ id: 'a', embedding: vector(1, 0.5), metadata: new Map<string, string | number>([['owner', 1]]) }).digest, base.digest);
  });

  it("reads each record's digest from a get answer, undefined where a record has none", () => {
    const digests = digestsInAnswer({ ids: ['a', 'b', 'c'], metadatas: [{ [DIGEST_KEY]: 'x', owner: 'o' }, { owner: 'o' }, null] });
    assert.deepEqual([...digests], [['a', 'x'], ['b', undefined], ['c', undefined]]);
  });
});
