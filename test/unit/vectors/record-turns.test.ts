import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordTurns } from '../../../src/adapters/chroma/record-turns.js';
import { settle, Work } from '../../support/controlled-work.js';

describe('record turns', () => {
  it('lets a write wait while another holds one of its records, and run once that one has ended', async () => {
    const turns = new RecordTurns();
    const first = new Work('first');
    const second = new Work('second');
    const firstDone = turns.run('bucket-0', ['a', 'b'], first.run);
    const secondDone = turns.run('bucket-0', ['b', 'c'], second.run);
    await settle();
    assert.deepEqual([first.started, second.started], [true, false]);
    first.finish();
    await settle();
    assert.equal(second.started, true);
    second.finish();
    assert.deepEqual(await Promise.all([firstDone, secondDone]), ['first', 'second']);
  });

  it('runs writes of other records, or of the same ids in another collection, side by side', async () => {
    const turns = new RecordTurns();
    const works = [new Work('a'), new Work('b'), new Work('a elsewhere')];
    const done = [
      turns.run('bucket-0', ['a'], works[0]!.run),
      turns.run('bucket-0', ['b'], works[1]!.run),
      turns.run('bucket-1', ['a'], works[2]!.run),
    ];
    await settle();
    assert.deepEqual(works.map((work) => work.started), [true, true, true]);
    works.forEach((work) => work.finish());
    assert.deepEqual(await Promise.all(done), ['a', 'b', 'a elsewhere']);
  });

  it('lets the next write run when the one before failed, and gives the failure to its caller', async () => {
    const turns = new RecordTurns();
    const failing = new Work('failing');
    const next = new Work('next');
    const failed = turns.run('bucket-0', ['a'], failing.run);
    const nextDone = turns.run('bucket-0', ['a', 'a'], next.run);
    failing.fail();
    await assert.rejects(failed, /failing failed/);
    await settle();
    assert.equal(next.started, true);
    next.finish();
    assert.equal(await nextDone, 'next');
  });

  it('serves three writes of one record one after the other, each after the one before has ended', async () => {
    const turns = new RecordTurns();
    const works = [new Work('1'), new Work('2'), new Work('3')];
    const done = works.map((work) => turns.run('bucket-0', ['a'], work.run));
    for (const [index, work] of works.entries()) {
      await settle();
      assert.deepEqual(works.map((each) => each.started), works.map((_, at) => at <= index));
      work.finish();
    }
    assert.deepEqual(await Promise.all(done), ['1', '2', '3']);
  });
});
