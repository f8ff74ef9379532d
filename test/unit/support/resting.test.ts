import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { resting } from '../../../src/support/resting.js';

describe('resting', () => {
  it('rests after each answer for the given share of the time the call took', async () => {
    let busy = 0;
    const work = resting(async (value: number) => {
      const began = performance.now();
      await sleep(30);
      busy = performance.now() - began;
      return value * 2;
    }, 2);
    const began = performance.now();
    assert.equal(await work(21), 42);
    const took = performance.now() - began;
    // Timers may fire up to a millisecond early: a little below three times the call, never two.
    assert.ok(took >= 3 * busy - 3, `took ${took.toFixed(1)} ms for a call of ${busy.toFixed(1)} ms`);
  });

  it('passes a failure on without resting first', async () => {
    const failure = new Error('refused');
    const work = resting(async () => {
      await sleep(20);
      throw failure;
    }, 1_000);
    const began = performance.now();
    await assert.rejects(work(), (error) => error === failure);
    // A rest would be a thousand times the call: 20 s or more.
    assert.ok(performance.now() - began < 5_000);
  });
});
