import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32ArrayText } from '../../../src/adapters/chroma/float32-text.js';

/** Every 32-bit pattern that is a finite float, drawn from a fixed seed (xorshift32). */
function finiteFloats(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  const bits = new Uint32Array(values.buffer);
  let state = seed;
  for (let index = 0; index < count; index += 1) {
    do {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      bits[index] = state >>> 0;
    } while (!Number.isFinite(values[index]));
  }
  return values;
}

function readBack(text: string): Float32Array {
  return Float32Array.from(JSON.parse(`[${text}]`) as number[]);
}

describe('the JSON text of a Float32Array', () => {
  it('reads back as exactly the same 32-bit floats, over the whole range', () => {
    const values = finiteFloats(200_000, 0x9e3779b9);
    assert.deepEqual(readBack(float32ArrayText(values)), values);
  });

  it('reads back exactly at the edges: zeros, subnormals, powers of ten, the largest float, carries', () => {
    const edges = new Float32Array([0, -0, 1, -1, 10, 0.1, 1e-9, 1e-38, 1.4e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, 0.99999994, 9.999999e-4, 999999.94, 123456789]);
    const text = float32ArrayText(edges);
    assert.deepEqual(readBack(text), Float32Array.from(edges, (value) => (Object.is(value, -0) ? 0 : value)));
    assert.match(text, /^0,0,1,-1,1e1,1\.00000001e-1,/);
  });

  it('writes an embedding as JSON numbers with nine significant digits at most', () => {
    const embedding = Float32Array.from({ length: 576 }, (_, index) => Math.sin(index) / 24);
    for (const number of float32ArrayText(embedding).split(',')) {
      assert.match(number, /^-?\d(\.\d{1,8})?(e-?\d{1,2})?$/);
    }
  });

  it('has no text for a value that is not finite', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => float32ArrayText(new Float32Array([0.5, bad])), RangeError);
    }
  });

  it('writes nothing for an empty array', () => {
    assert.equal(float32ArrayText(new Float32Array(0)), '');
  });
});
