import { setImmediate as nextTurn } from 'node:timers/promises';

/** Longest stretch of a long map between two turns of the event loop, in ms. */
const DEFAULT_SLICE_MS = 4;

/**
 * Maps a long list with `map` on the event loop, a slice at a time: after `sliceMs` of work it
 * lets the callbacks waiting meanwhile (other requests, answers of other threads) run, then goes
 * on. The list's own result is the same as that of `Array.prototype.map`; only a list whose work
 * takes longer than a slice waits for other work.
 */
export async function mapInSlices<T, R>(items: readonly T[], map: (item: T, index: number) => R, sliceMs = DEFAULT_SLICE_MS): Promise<R[]> {
  const results: R[] = [];
  let sliceStart = performance.now();
  for (const [index, item] of items.entries()) {
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
    results.push(map(item, index));
  }
  return results;
}
