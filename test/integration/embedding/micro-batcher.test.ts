import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MicroBatcher } from '../../../src/adapters/embedding/micro-batcher.js';

/** A batcher over a model that upper-cases its inputs and records every batch it was given. */
function recordingBatcher(options: {
  maxBatchSize: number;
  concurrency?: number;
  delayMs?: number;
  failOn?: string;
  idleDispatch?: 'next-turn' | 'this-turn';
}) {
  const batches: string[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  const batcher = new MicroBatcher<string, string>({
    maxBatchSize: options.maxBatchSize,
    concurrency: options.concurrency ?? 1,
    ...(options.idleDispatch === undefined ? {} : { idleDispatch: options.idleDispatch }),
    run: async (inputs) => {
      batches.push(inputs);
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(options.delayMs ?? 1);
      running -= 1;
      if (options.failOn !== undefined && inputs.includes(options.failOn)) throw new Error('model failed');
      return inputs.map((input) => input.toUpperCase());
    },
  });
  return { batcher, batches, mostAtOnce: () => mostAtOnce };
}

describe('the micro-batcher', () => {
  it('runs calls made together as one batch and gives each call its own outputs', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 64 });
    const results = await Promise.all([batcher.submit(['a', 'b']), batcher.submit(['c']), batcher.submit(['d', 'e'])]);
    assert.deepEqual(results, [['A', 'B'], ['C'], ['D', 'E']]);
    assert.deepEqual(batches, [['a', 'b', 'c', 'd', 'e']]);
  });

  it('never hands more than maxBatchSize inputs to one run, and keeps the order', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 3 });
    const inputs = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    assert.deepEqual(await batcher.submit(inputs), ['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    assert.ok(batches.every((batch) => batch.length <= 3));
    assert.deepEqual(batches.flat(), inputs);
  });

  for (const idleDispatch of ['next-turn', 'this-turn'] as const) {
    it(`gathers the calls made while a batch runs into the next batch (${idleDispatch})`, async () => {
      const { batcher, batches } = recordingBatcher({ maxBatchSize: 64, delayMs: 20, idleDispatch });
      const first = batcher.submit(['a']);
      await sleep(5);
      const later = [batcher.submit(['b']), batcher.submit(['c'])];
      await sleep(2);
      const last = batcher.submit(['d']);
      await Promise.all([first, ...later, last]);
      assert.deepEqual(batches, [['a'], ['b', 'c', 'd']]);
    });
  }

  it('dispatches calls that find the model idle after a turn of the loop, or with `this-turn` before it', async () => {
    const dispatchedAfterTurn: Record<string, boolean> = {};
    for (const idleDispatch of ['next-turn', 'this-turn'] as const) {
      let turned = false;
      const batches: string[][] = [];
      const batcher = new MicroBatcher<string, string>({
        maxBatchSize: 64,
        idleDispatch,
        run: async (inputs) => {
          batches.push(inputs);
          dispatchedAfterTurn[idleDispatch] ??= turned;
          return inputs;
        },
      });
      setImmediate(() => {
        turned = true;
      });
      // Calls made together share one batch either way.
      assert.deepEqual(await Promise.all([batcher.submit(['a']), batcher.submit(['b'])]), [['a'], ['b']]);
      assert.deepEqual(batches, [['a', 'b']]);
    }
    assert.deepEqual(dispatchedAfterTurn, { 'next-turn': true, 'this-turn': false });
  });

  it('fails only the calls whose batch failed', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 2, failOn: 'bad' });
    const [good, bad] = await Promise.allSettled([batcher.submit(['x', 'y']), batcher.submit(['bad'])]);
    assert.deepEqual(good, { status: 'fulfilled', value: ['X', 'Y'] });
    assert.equal(bad?.status, 'rejected');
  });

  it('runs up to `concurrency` batches at the same time', async () => {
    const { batcher, mostAtOnce } = recordingBatcher({ maxBatchSize: 1, concurrency: 2, delayMs: 10 });
    await Promise.all(['a', 'b', 'c', 'd'].map((input) => batcher.submit([input])));
    assert.equal(mostAtOnce(), 2);
  });

  it('lets the event loop turn between batches, so a busy model cannot starve I/O', async () => {
    // a model that answers through microtasks alone, like the WASM backend on the main thread
    const batcher = new MicroBatcher<number, number>({ maxBatchSize: 1, run: async (inputs) => inputs });
    let batches = 0;
    let turns = 0;
    const ticker = setInterval(() => (turns += 1), 0);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const began = Date.now();
        while (Date.now() - began < 50) {
          await batcher.submit([1]);
          batches += 1;
        }
      }),
    );
    clearInterval(ticker);
    assert.ok(batches > 10, `${batches} batches`);
    assert.ok(turns > 5, `the timer ran ${turns} times during ${batches} batches`);
  });

  it('drains: resolves once every submitted call has settled', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 8, delayMs: 10 });
    let settled = false;
    void batcher.submit(['a']).then(() => {
      settled = true;
    });
    await batcher.drain();
    assert.equal(settled, true);
  });
});
