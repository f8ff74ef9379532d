import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestNode, type TestNode } from '../support/engram-node.js';
import { EngramClient } from '../support/http-client.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Two deployments (each its own Postgres database and Chroma) on one Redis database: each one's
 * workers take only its own jobs. Recovery is set far off, so a job taken by the other deployment
 * would leave its write pending past the wait.
 */
describe('two deployments sharing one Redis database', () => {
  let redis: TestRedis;
  const nodes: TestNode[] = [];

  before(async () => {
    redis = await startTestRedis();
    for (let index = 0; index < 2; index += 1) {
      nodes.push(await startTestNode('distributed', { ENGRAM_RECOVER_AFTER_MS: '600000', ENGRAM_PII: 'off' }, { redis }));
    }
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await redis?.stop();
  });

  it("stores each deployment's writes by its own workers, at once", async () => {
    const clients = nodes.map((node) => new EngramClient(node.url, node.apiKey));
    const accepted = await Promise.all(
      clients.map(async (client, index) => {
        const items = Array.from({ length: 12 }, (_, turn) => ({
          user_id: 'dana',
          session_id: 'session-1',
          role: 'user',
          text: `deployment ${index} remembers turn ${turn}`,
        }));
        const { status, body } = await client.request<{ items: Array<{ task_id: string }> }>('POST', '/memory/batch', { items });
        assert.equal(status, 202);
        return body.items.map((item) => item.task_id);
      }),
    );
    for (const [index, client] of clients.entries()) {
      const statuses = await Promise.all((accepted[index] ?? []).map((taskId) => client.waitForTask(taskId, 15_000)));
      assert.deepEqual(new Set(statuses), new Set(['completed']), `deployment ${index}`);
    }
  });
});
