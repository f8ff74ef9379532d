import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedRuns } from '../../../src/support/keyed-runs.js';

/** A run that ends when told to, failing or not. */
function heldRun(): { run: () => Promise<void>; end: (failure?: Error) => void; starts: () => number } {
  let starts = 0;
  let end: (failure?: Error) => void = () => undefined;
  return {
    run: () => {
      starts += 1;
      return new Promise<void>((resolve, reject) => {
        end = (failure) => (failure === undefined ? resolve() : reject(failure));
      });
    },
    end: (failure) => end(failure),
    starts: () => starts,
  };
}

describe('KeyedRuns', () => {
  it("starts a key's run once while it is under way, and other keys' beside it", async () => {
    const runs = new KeyedRuns();
    const first = heldRun();
    const other = heldRun();
    runs.start('a', first.run, () => assert.fail('no failure'));
    runs.start('a', first.run, () => assert.fail('no failure'));
    runs.start('b', other.run, () => assert.fail('no failure'));
    assert.equal(first.starts(), 1);
    assert.equal(other.starts(), 1);
    assert.equal(runs.running().length, 2);
    first.end();
    other.end();
    await Promise.all(runs.running());
    assert.equal(runs.running().length, 0);
    runs.start('a', first.run, () => assert.fail('no failure'));
    assert.equal(first.starts(), 2, 'a key whose run ended starts again');
    first.end();
    await Promise.all(runs.running());
  });

  it('remembers a failed run until the key starts again or is forgotten, and settles without failing', async () => {
    const runs = new KeyedRuns();
    const held = heldRun();
    const heard: unknown[] = [];
    const failure = new Error('the store went away');
    runs.start('a', held.run, (error) => heard.push(error));
    assert.equal(runs.failed('a'), false);
    held.end(failure);
    await Promise.all(runs.running());
    assert.deepEqual([...heard], [failure]);
    assert.equal(runs.failed('a'), true);
    assert.equal(runs.failed('b'), false);

    runs.start('a', held.run, (error) => heard.push(error));
    assert.equal(runs.failed('a'), false, 'a new start clears the failure');
    held.end(failure);
    await Promise.all(runs.running());
    assert.equal(runs.failed('a'), true);
    runs.forget('a');
    assert.equal(runs.failed('a'), false);
  });
});
