import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MALLOC_TUNABLES, withMallocTunables } from '../../../src/config/malloc-tunables.js';

describe('withMallocTunables', () => {
  it("gives a child Engram's allocator settings and keeps the rest of the environment", () => {
    const env = withMallocTunables({ PATH: '/usr/bin', HOME: '/home/engram' });
    assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/home/engram', GLIBC_TUNABLES: MALLOC_TUNABLES });
  });

  it('lets tunables already set win, and names each one once', () => {
    const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4:glibc.cpu.x86_ibt=on' });
    assert.equal(
      env['GLIBC_TUNABLES'],
      'glibc.malloc.arena_max=4:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072:glibc.cpu.x86_ibt=on',
    );
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: MALLOC_TUNABLES })['GLIBC_TUNABLES'], MALLOC_TUNABLES);
  });
});
