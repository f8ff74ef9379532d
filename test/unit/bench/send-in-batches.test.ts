import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendInBatches } from '../../../bench/lib/send-in-batches.js';

describe("the benchmark's batched load", () => {
  it('sends every item once, in batches that are never empty, while senders wait for room', async () => {
    for (const total of [1, 499, 500, 1_001, 2_250]) {
      const sizes: number[] = [];
      await sendInBatches({
        total,
        batchSize: 500,
        senders: 2,
        // Each sender waits for room before every batch, as the loader's window makes it wait.
        room: () => sleep(1),
        send: async (size) => {
          sizes.push(size);
          await sleep(2);
        },
      });
      assert.ok(sizes.every((size) => size > 0 && size <= 500), `batches of ${sizes.join(', ')} for ${total}`);
      assert.equal(sizes.reduce((sum, size) => sum + size, 0), total);
    }
  });
});
