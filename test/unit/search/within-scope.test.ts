import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWithinScope, type MetadataCondition, type SearchScope } from '../../../src/domain/filters.js';

const memory = {
  sessionId: 'session-1',
  createdAt: new Date('2024-05-01T12:00:00Z'),
  metadata: { topic: 'pets', rating: 4, pinned: true },
};
const scope = (narrowing: Omit<SearchScope, 'tenantId' | 'userId'>): SearchScope => ({ tenantId: 't', userId: 'u', ...narrowing });
const within = (...metadata: MetadataCondition[]): boolean => isWithinScope(memory, scope({ metadata }));

describe('isWithinScope', () => {
  it('holds a memory of the session, and none of another', () => {
    assert.equal(isWithinScope(memory, scope({})), true);
    assert.equal(isWithinScope(memory, scope({ sessionId: 'session-1' })), true);
    assert.equal(isWithinScope(memory, scope({ sessionId: 'session-2' })), false);
  });

  it('bounds the time of creation, each bound exclusive', () => {
    const at = memory.createdAt.getTime();
    assert.equal(isWithinScope(memory, scope({ createdAfter: new Date(at - 1), createdBefore: new Date(at + 1) })), true);
    assert.equal(isWithinScope(memory, scope({ createdAfter: memory.createdAt })), false);
    assert.equal(isWithinScope(memory, scope({ createdBefore: memory.createdAt })), false);
  });

  it('compares metadata as the stores do: a missing key passes ne and nin, ranges take numbers only', () => {
    assert.equal(within({ key: 'topic', op: 'eq', value: 'pets' }), true);
    assert.equal(within({ key: 'rating', op: 'eq', value: '4' }), false);
    assert.equal(within({ key: 'topic', op: 'ne', value: 'pets' }), false);
    assert.equal(within({ key: 'absent', op: 'ne', value: 'pets' }), true);
    assert.equal(within({ key: 'rating', op: 'in', value: [4.5, 4] }), true);
    assert.equal(within({ key: 'absent', op: 'in', value: [4] }), false);
    assert.equal(within({ key: 'rating', op: 'nin', value: [4] }), false);
    assert.equal(within({ key: 'absent', op: 'nin', value: [4] }), true);
    assert.equal(within({ key: 'rating', op: 'gt', value: 3.5 }, { key: 'rating', op: 'lte', value: 4 }), true);
    assert.equal(within({ key: 'rating', op: 'lt', value: 4 }), false);
    assert.equal(within({ key: 'topic', op: 'gte', value: 0 }), false);
    assert.equal(within({ key: 'pinned', op: 'eq', value: true }, { key: 'topic', op: 'eq', value: 'work' }), false);
    assert.equal(within({ key: 'constructor', op: 'nin', value: ['x'] }), true);
  });
});
