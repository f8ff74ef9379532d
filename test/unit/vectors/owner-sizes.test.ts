import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnerSizes } from '../../../src/adapters/chroma/owner-sizes.js';

describe('owner sizes', () => {
  it('asks for everything until a query has seen all of an owner\'s vectors, then for no more than that', () => {
    const sizes = new OwnerSizes(10, 60_000);
    assert.equal(sizes.limit('alice', '', 50), 50);
    sizes.observe('alice', '', 50, 7, 50);
    assert.equal(sizes.limit('alice', '', 50), 7);
    assert.equal(sizes.limit('alice', '', 5), 5);
    assert.equal(sizes.limit('bob', '', 50), 50, 'another owner is not affected');
  });

  it('follows writes and removals, and never asks for nothing', () => {
    const sizes = new OwnerSizes(10, 60_000);
    sizes.observe('alice', '', 50, 0, 50);
    assert.equal(sizes.limit('alice', '', 50), 1, 'an owner without vectors may have got one');
    sizes.grew('alice', 3);
    assert.equal(sizes.limit('alice', '', 50), 3);
    sizes.forget('alice');
    assert.equal(sizes.limit('alice', '', 50), 50);
  });

  it('forgets an owner found to hold as many as were wanted, and keeps a figure that a capped query merely confirmed', () => {
    const sizes = new OwnerSizes(10, 60_000);
    sizes.observe('alice', '', 50, 7, 50);
    sizes.observe('alice', '', 7, 7, 50);
    assert.equal(sizes.limit('alice', '', 50), 7);
    sizes.observe('alice', '', 7, 5, 50);
    assert.equal(sizes.limit('alice', '', 50), 5, 'removed elsewhere: the smaller figure');
    sizes.observe('alice', '', 50, 50, 50);
    assert.equal(sizes.limit('alice', '', 50), 50);
  });

  it('keeps a figure per filter, and counts a write in every filter of the owner', () => {
    const sizes = new OwnerSizes(10, 60_000);
    sizes.observe('alice', '', 50, 40, 50);
    sizes.observe('alice', 'session-1', 50, 6, 50);
    assert.equal(sizes.limit('alice', '', 50), 40);
    assert.equal(sizes.limit('alice', 'session-1', 50), 6);
    assert.equal(sizes.limit('alice', 'session-2', 50), 50);
    sizes.grew('alice', 2);
    assert.equal(sizes.limit('alice', '', 50), 42);
    assert.equal(sizes.limit('alice', 'session-1', 50), 8);
  });

  it('asks for everything again once the figure is older than its time to live', async () => {
    const sizes = new OwnerSizes(10, 20);
    sizes.observe('alice', '', 50, 7, 50);
    assert.equal(sizes.limit('alice', '', 50), 7);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(sizes.limit('alice', '', 50), 50);
  });
});
