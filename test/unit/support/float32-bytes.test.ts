import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32FromBytes, float32ToBase64 } from '../../../src/support/float32-bytes.js';

/** The little-endian bytes of each value, one at a time, as the format defines them. */
function littleEndianBytes(values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes;
}

const VALUES = [0, -0, 1, -1, 0.1, -2.5e-7, 1.4e-45, 3.4028235e38, Number.POSITIVE_INFINITY, Math.fround(Math.PI)];

describe('float32 vectors as little-endian bytes', () => {
  for (const littleEndianHost of [true, false]) {
    const order = littleEndianHost ? 'the fast path of a little-endian host' : 'the path number by number';
    it(`writes each value's little-endian bytes in base64, by ${order}`, () => {
      assert.equal(float32ToBase64(Float32Array.from(VALUES), littleEndianHost), littleEndianBytes(VALUES).toString('base64'));
      assert.equal(float32ToBase64(new Float32Array(0), littleEndianHost), '');
    });

    it(`writes only the values of a view into a larger array, by ${order}`, () => {
      const whole = Float32Array.from([9, ...VALUES, 9]);
      const view = whole.subarray(1, 1 + VALUES.length);
      assert.equal(float32ToBase64(view, littleEndianHost), littleEndianBytes(VALUES).toString('base64'));
    });

    it(`reads back exactly the values written, from bytes at any offset, by ${order}`, () => {
      const bytes = littleEndianBytes(VALUES);
      const unaligned = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4, 5])]).subarray(3, 3 + bytes.length + 2);
      const read = float32FromBytes(unaligned, littleEndianHost);
      assert.deepEqual(read, Float32Array.from(VALUES));
      assert.ok(Object.is(read[1], -0));
      assert.equal(read.byteOffset, 0, 'the vector has memory of its own');
    });
  }

  it('reads back a NaN as a NaN', () => {
    assert.ok(Number.isNaN(float32FromBytes(littleEndianBytes([Number.NaN]))[0]));
  });

  it('gives a vector that does not change when the bytes it was read from do', () => {
    const bytes = littleEndianBytes([1, 2]);
    const read = float32FromBytes(bytes);
    bytes.fill(0);
    assert.deepEqual(read, Float32Array.from([1, 2]));
  });
});
