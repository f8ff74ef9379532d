import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LargeUsers } from '../../../src/adapters/sql/large-users.js';

describe('large users', () => {
  it('knows a user noted large, of that tenant only, until a listing finds them small again', () => {
    const users = new LargeUsers();
    users.note('tenant-a', 'ana', true);
    assert.equal(users.has('tenant-a', 'ana'), true);
    assert.equal(users.has('tenant-b', 'ana'), false);
    assert.equal(users.has('tenant-a', 'bo'), false);
    users.note('tenant-a', 'ana', false);
    assert.equal(users.has('tenant-a', 'ana'), false);
  });

  it('forgets the user noted longest ago when full, counting a user noted again as noted last', () => {
    const users = new LargeUsers(2);
    users.note('tenant', 'ana', true);
    users.note('tenant', 'bo', true);
    users.note('tenant', 'ana', true);
    users.note('tenant', 'cy', true);
    assert.deepEqual(['ana', 'bo', 'cy'].map((user) => users.has('tenant', user)), [true, false, true]);
  });
});
