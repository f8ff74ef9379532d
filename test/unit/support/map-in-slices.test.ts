import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapInSlices } from '../../../src/support/map-in-slices.js';

/** Holds the thread for `ms`, as CPU-bound work does. */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('mapInSlices', () => {
  it('gives what Array.prototype.map gives, in order, with each index', async () => {
    const items = Array.from({ length: 1_000 }, (_, index) => `item ${index}`);
    const mapped = await mapInSlices(items, (item, index) => `${index}:${item.toUpperCase()}`, 0);
    assert.deepEqual(
      mapped,
      items.map((item, index) => `${index}:${item.toUpperCase()}`),
    );
    assert.deepEqual(await mapInSlices([], () => 1), []);
  });

  it('lets callbacks waiting meanwhile run between slices, not only at the end', async () => {
    let mappedWhenOtherRan: number | null = null;
    let mapped = 0;
    setImmediate(() => {
      mappedWhenOtherRan = mapped;
    });
    await mapInSlices(
      Array.from({ length: 20 }, (_, index) => index),
      (index) => {
        work(1);
        mapped += 1;
        return index;
      },
      4,
    );
    assert.ok(mappedWhenOtherRan !== null, 'the other callback ran');
    assert.ok(mappedWhenOtherRan < 20, `it ran after ${String(mappedWhenOtherRan)} of 20 items`);
  });

  it('maps a list that takes less than a slice in one go', async () => {
    let otherRan = false;
    setImmediate(() => {
      otherRan = true;
    });
    const mapped = mapInSlices([1, 2, 3], (value) => {
      assert.equal(otherRan, false);
      return value * 2;
    }, 1_000);
    assert.deepEqual(await mapped, [2, 4, 6]);
  });

  it('rejects with the error of the item that failed, and maps no item after it', async () => {
    const seen: number[] = [];
    await assert.rejects(
      mapInSlices([1, 2, 3, 4], (value) => {
        seen.push(value);
        if (value === 2) throw new Error('refused');
        return value;
      }),
      /refused/,
    );
    assert.deepEqual(seen, [1, 2]);
  });
});
