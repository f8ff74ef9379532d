import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyGate } from '../../../src/services/concurrency-gate.js';
import { settle, Work } from '../../support/controlled-work.js';

describe('concurrency gate', () => {
  it('runs at most its limit at once, the others in the order they came', async () => {
    const gate = new ConcurrencyGate(2);
    const works = ['a', 'b', 'c', 'd', 'e'].map((name) => new Work(name));
    const results = works.map((work) => gate.run(work.run));
    await settle();
    assert.deepEqual(works.map((work) => work.started), [true, true, false, false, false]);
    assert.equal(gate.waiting, 3);

    works[1]?.finish();
    await settle();
    assert.deepEqual(works.map((work) => work.started), [true, true, true, false, false]);
    works[0]?.finish();
    works[2]?.finish();
    await settle();
    assert.deepEqual(works.map((work) => work.started), [true, true, true, true, true]);
    assert.equal(gate.waiting, 0);

    works[3]?.finish();
    works[4]?.finish();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd', 'e']);
  });

  it('passes on the place of work that failed, and gives its caller the error', async () => {
    const gate = new ConcurrencyGate(1);
    const [failing, next] = [new Work('failing'), new Work('next')];
    const failed = gate.run(failing.run);
    const after = gate.run(next.run);
    await settle();
    assert.equal(next.started, false);

    failing.fail();
    await assert.rejects(failed, /failing failed/);
    await settle();
    assert.equal(next.started, true);
    next.finish();
    assert.equal(await after, 'next');
  });

  it('starts work at once while there is room, and again once the work before has ended', async () => {
    const gate = new ConcurrencyGate(1);
    const first = new Work('first');
    const running = gate.run(first.run);
    assert.equal(first.started, true);
    first.finish();
    await running;
    const second = new Work('second');
    const again = gate.run(second.run);
    assert.equal(second.started, true);
    assert.equal(gate.waiting, 0);
    second.finish();
    assert.equal(await again, 'second');
  });

  it('takes a limit below 1 as 1', async () => {
    const gate = new ConcurrencyGate(0);
    const [one, two] = [new Work('one'), new Work('two')];
    const results = [gate.run(one.run), gate.run(two.run)];
    await settle();
    assert.deepEqual([one.started, two.started], [true, false]);
    one.finish();
    await settle();
    two.finish();
    assert.deepEqual(await Promise.all(results), ['one', 'two']);
  });
});
