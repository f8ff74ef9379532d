import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Embedder } from '../../../src/ports/embedder.js';
import { cosine, norm } from './vector-math.js';

export interface EmbedderUnderTest {
  /** The embedder most checks run against; the suite leaves closing it to its owner. */
  shared(): Promise<Embedder>;
  /** A new embedder of the same kind, that the suite closes. */
  fresh(): Promise<Embedder>;
}

/** What every Embedder promises, whichever model is behind it. */
export function describeEmbedderContract(name: string, subject: EmbedderUnderTest): void {
  describe(`${name} keeps the Embedder contract`, () => {
    let embedder: Embedder;
    before(async () => {
      embedder = await subject.shared();
    });

    it('gives one unit vector of model.dimensions per text, in order', async () => {
      const texts = ['first text', 'second text', 'third text'];
      const vectors = await embedder.embed(texts);
      assert.equal(vectors.length, texts.length);
      for (const vector of vectors) {
        assert.ok(vector instanceof Float32Array);
        assert.equal(vector.length, embedder.model.dimensions);
        assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `norm ${norm(vector)}`);
      }
      const [alone] = await embedder.embed(['second text']);
      assert.ok(alone !== undefined && vectors[1] !== undefined);
      assert.ok(cosine(alone, vectors[1]) > 0.9999);
    });

    it('gives nothing for no texts', async () => {
      assert.deepEqual(await embedder.embed([]), []);
    });

    it('gives a vector for an empty text, alone and at the end of a batch', async () => {
      const [alone] = await embedder.embed(['']);
      const batch = await embedder.embed(['something', '']);
      assert.equal(alone?.length, embedder.model.dimensions);
      assert.equal(batch.length, 2);
      assert.ok(alone !== undefined && batch[1] !== undefined && cosine(alone, batch[1]) > 0.9999);
    });

    it('fails with dependency_unavailable once closed', async () => {
      const closing = await subject.fresh();
      await closing.close();
      await closing.close();
      await assert.rejects(closing.embed(['too late']), { code: 'dependency_unavailable' });
    });
  });
}
