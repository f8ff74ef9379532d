import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KnownWordCounts } from '../../../src/adapters/sql/known-word-counts.js';

const NOTHING = { population: null, commonWords: [] };

/** Known counts on a clock the test moves. */
function countsAt(options: { trustedMs?: number; maxUsers?: number; maxWordsPerUser?: number } = {}) {
  const clock = { now: 1_000 };
  return { clock, known: new KnownWordCounts({ ...options, now: () => clock.now }) };
}

describe('known word counts', () => {
  it("keeps a user's counts for that user of that tenant, for as long as they are trusted", () => {
    const { clock, known } = countsAt({ trustedMs: 60_000 });
    known.learn('tenant-a', 'ana', { population: 1_250, commonWords: ['garden', 'walk'] });
    assert.deepEqual(known.of('tenant-a', 'ana'), { population: 1_250, commonWords: ['garden', 'walk'] });
    assert.deepEqual(known.of('tenant-b', 'ana'), NOTHING);
    assert.deepEqual(known.of('tenant-a', 'bo'), NOTHING);

    // Each count is trusted from when it was made: a word counted later outlives the others.
    clock.now += 30_000;
    known.learn('tenant-a', 'ana', { population: null, commonWords: ['rain'] });
    clock.now += 30_000;
    assert.deepEqual(known.of('tenant-a', 'ana'), { population: null, commonWords: ['rain'] });
    clock.now += 30_000;
    assert.deepEqual(known.of('tenant-a', 'ana'), NOTHING);
  });

  it("keeps a user's population under its cap, the latest count winning", () => {
    const { clock, known } = countsAt({ trustedMs: 60_000 });
    known.learn('tenant-a', 'ana', { population: 640, commonWords: [] });
    assert.deepEqual(known.of('tenant-a', 'ana'), { population: 640, commonWords: [] });
    clock.now += 50_000;
    known.learn('tenant-a', 'ana', { population: 655, commonWords: [] });
    clock.now += 50_000;
    assert.deepEqual(known.of('tenant-a', 'ana'), { population: 655, commonWords: [] });
    clock.now += 10_000;
    assert.deepEqual(known.of('tenant-a', 'ana'), NOTHING);
  });

  it('forgets an erased user at once', () => {
    const { known } = countsAt();
    known.learn('tenant-a', 'ana', { population: 1_250, commonWords: ['garden'] });
    known.learn('tenant-a', 'bo', { population: 1_250, commonWords: [] });
    known.forget('tenant-a', 'ana');
    assert.deepEqual(known.of('tenant-a', 'ana'), NOTHING);
    assert.equal(known.of('tenant-a', 'bo').population, 1_250);
  });

  it('keeps nothing of a search that made no count worth keeping', () => {
    const { known } = countsAt();
    known.learn('tenant-a', 'ana', NOTHING);
    assert.deepEqual(known.of('tenant-a', 'ana'), NOTHING);
  });

  it('tells apart tenants and users whose names run into each other', () => {
    const { known } = countsAt();
    known.learn('a', 'b:c', { population: 1_250, commonWords: [] });
    assert.deepEqual(known.of('a:b', 'c'), NOTHING);
    assert.deepEqual(known.of('a', 'b:c'), { population: 1_250, commonWords: [] });
  });

  it('forgets the longest held users and words beyond its bounds', () => {
    const { known } = countsAt({ maxUsers: 2, maxWordsPerUser: 3 });
    for (const user of ['u1', 'u2', 'u3']) known.learn('t', user, { population: 1_250, commonWords: [] });
    assert.deepEqual(known.of('t', 'u1'), NOTHING);
    assert.equal(known.of('t', 'u2').population, 1_250);
    assert.equal(known.of('t', 'u3').population, 1_250);

    known.learn('t', 'u3', { population: 1_250, commonWords: ['w1', 'w2', 'w3'] });
    // A word counted again is held anew, so it outlasts those counted once.
    known.learn('t', 'u3', { population: 1_250, commonWords: ['w1', 'w4'] });
    assert.deepEqual([...known.of('t', 'u3').commonWords].sort(), ['w1', 'w3', 'w4']);
  });
});
