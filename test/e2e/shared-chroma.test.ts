import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';
import { startTestNode, type TestNode } from '../support/engram-node.js';
import { EngramClient } from '../support/http-client.js';

/**
 * A second deployment (its own Postgres database) pointed at the Chroma of a first: it refuses to
 * start, since each would take the other's vectors for orphans (its reconciler and `doctor --fix`
 * remove vectors their database does not hold); the first goes on.
 */
describe('a Chroma that holds another deployment’s vectors', () => {
  let chroma: TestChroma;
  let first: TestNode;

  before(async () => {
    chroma = await startTestChroma();
    first = await startTestNode('distributed', { ENGRAM_PII: 'off' }, { chroma });
  });
  after(async () => {
    await first?.stop();
    await chroma?.stop();
  });

  it('refuses to start another deployment on it, naming why, and leaves the first working', async () => {
    await assert.rejects(startTestNode('distributed', { ENGRAM_PII: 'off' }, { chroma }), (error: unknown) => {
      assert.equal((error as { code?: unknown }).code, 'vector_store_in_use');
      assert.match(String(error), /another Engram database/);
      return true;
    });

    const client = new EngramClient(first.url, first.apiKey);
    const { status, body } = await client.request<{ task_id: string; id: string }>('POST', '/memory', {
      user_id: 'dana',
      session_id: 'session-1',
      text: 'The kayak trip is booked for June',
    });
    assert.equal(status, 202);
    assert.equal(await client.waitForTask(body.task_id), 'completed');
    const found = await client.request<{ results: Array<{ id: string }> }>('POST', '/memory/search', { query: 'kayak trip', user_id: 'dana' });
    assert.deepEqual(found.body.results.map((result) => result.id), [body.id]);
  });
});
