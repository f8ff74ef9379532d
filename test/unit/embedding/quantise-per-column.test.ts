import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantisePerColumn } from '../../../src/adapters/embedding/onnx/use-lite-graph.js';

describe('8-bit weights, one scale per column', () => {
  it('maps each column’s largest magnitude to ±127 and keeps every weight within half a step', () => {
    const matrix = fc
      .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
      .chain(([rows, columns]) =>
        fc.tuple(fc.constant(rows), fc.constant(columns), fc.array(fc.float({ min: -4, max: 4, noNaN: true }).map((value) => (Math.abs(value) < 1e-30 ? 0 : value)), { minLength: rows * columns, maxLength: rows * columns })),
      );
    fc.assert(
      fc.property(matrix, ([rows, columns, values]) => {
        const input = Float32Array.from(values);
        const { weights, scales } = quantisePerColumn(input, rows, columns);
        assert.equal(weights.length, rows * columns);
        assert.equal(scales.length, columns);
        for (let column = 0; column < columns; column++) {
          const scale = scales[column] ?? 0;
          assert.ok(scale > 0, 'a scale is never 0');
          let largest = 0;
          for (let row = 0; row < rows; row++) {
            const index = row * columns + column;
            const value = input[index] ?? 0;
            const restored = (weights[index] ?? 0) * scale;
            assert.ok(Math.abs(restored - value) <= scale / 2 + 1e-6, `[${row}, ${column}]: ${value} came back as ${restored}`);
            largest = Math.max(largest, Math.abs(weights[index] ?? 0));
          }
          const allZero = Array.from({ length: rows }, (_, row) => input[row * columns + column] ?? 0).every((value) => value === 0);
          assert.equal(largest, allZero ? 0 : 127);
        }
      }),
    );
  });

  it('gives a column of zeros the scale 1, and refuses values that are not rows × columns', () => {
    const { weights, scales } = quantisePerColumn(Float32Array.of(0, 2, 0, -1), 2, 2);
    assert.deepEqual(Array.from(scales), [1, Math.fround(2 / 127)]);
    assert.deepEqual(Array.from(weights), [0, 127, 0, -64]);
    assert.throws(() => quantisePerColumn(Float32Array.of(1, 2, 3), 2, 2), RangeError);
  });
});
