import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestChroma, type TestChroma } from '../support/chroma-server.js';
import { CliServer } from '../support/cli.js';
import { freePort } from '../support/free-port.js';
import { EngramClient } from '../support/http-client.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

describe('secrets never reach a log line', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let chroma: TestChroma;
  let api: CliServer;
  let worker: CliServer;
  const apiKey = `bootstrap-${randomUUID()}`;
  const databasePassword = `dbpw-${randomUUID()}`;
  let client: EngramClient;

  before(async () => {
    [database, redis, chroma] = await Promise.all([createTestDatabase(), startTestRedis(), startTestChroma()]);
    const databaseUrl = new URL(database.url);
    // Trust authentication ignores the password, but the URL carries it as a real deployment would.
    databaseUrl.password = databasePassword;
    const port = await freePort();
    const env = {
      PORT: String(port),
      LOG_LEVEL: 'trace',
      ENGRAM_API_KEY: apiKey,
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: redis.url,
      CHROMA_URL: chroma.url,
    };
    api = new CliServer(['serve'], env);
    worker = new CliServer(['worker'], env);
    const url = `http://127.0.0.1:${port}`;
    await api.waitHealthy(url);
    client = new EngramClient(url, apiKey);
  });
  after(async () => {
    await Promise.all([api.stop(), worker.stop()]);
    await Promise.all([database.drop(), redis.stop(), chroma.stop()]);
  });

  it('keeps the API key, the database password and the Redis password out of every log line', async () => {
    const accepted = await client.request<{ task_id: string }>('POST', '/memory', { user_id: 'u', session_id: 's', text: 'hello there' });
    assert.equal(accepted.status, 202);
    assert.equal(await client.waitForTask(accepted.body.task_id), 'completed');
    assert.equal((await client.withKey(`${apiKey}-wrong`).request('GET', '/memory/x')).status, 401);
    await redis.restartEmpty();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(await api.stop(), 0);
    assert.equal(await worker.stop(), 0);
    const logs = api.output + worker.output;
    assert.ok(logs.length > 0, 'the processes logged something');
    for (const secret of [apiKey, databasePassword, redis.password]) {
      assert.ok(!logs.includes(secret), 'a secret appears in the logs');
    }
  });
});
