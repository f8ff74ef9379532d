import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWithinScope } from '../../../src/domain/filters.js';
import { parseExclusiveUpperBound, parseStorableTime } from '../../../src/domain/times.js';

describe('time bounds', () => {
  const memory = { userId: 'u', sessionId: 's', createdAt: new Date('2025-01-01T00:00:00.000Z'), metadata: {} };
  const scope = (createdBefore: Date) => ({ tenantId: 't', userId: 'u', createdBefore });

  it('rounds an upper bound finer than a millisecond up, keeping a memory of that millisecond inside', () => {
    const bound = parseExclusiveUpperBound('2025-01-01T00:00:00.0005Z', 'created_before');
    assert.equal(bound.toISOString(), '2025-01-01T00:00:00.001Z');
    assert.ok(isWithinScope(memory, scope(bound)));
    assert.ok(!isWithinScope(memory, scope(parseStorableTime('2025-01-01T00:00:00.0005Z', 'created_before'))));
  });

  it('keeps a bound of whole milliseconds (or with zeros past them) as it is, and offsets as they are', () => {
    for (const text of ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000000Z', '2025-01-01T01:00:00.000+01:00']) {
      const bound = parseExclusiveUpperBound(text, 'created_before');
      assert.equal(bound.toISOString(), '2025-01-01T00:00:00.000Z', text);
      assert.ok(!isWithinScope(memory, scope(bound)), text);
    }
    assert.equal(parseExclusiveUpperBound('2025-01-01T02:00:00.1234+02:00', 'created_before').toISOString(), '2025-01-01T00:00:00.124Z');
  });

  it('rounds no bound past the last storable millisecond', () => {
    assert.equal(parseExclusiveUpperBound('9999-12-31T23:59:59.9981Z', 'created_before').toISOString(), '9999-12-31T23:59:59.999Z');
    assert.equal(parseExclusiveUpperBound('9999-12-31T23:59:59.9991Z', 'created_before').toISOString(), '9999-12-31T23:59:59.999Z');
  });
});
