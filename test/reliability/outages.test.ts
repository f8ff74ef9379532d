import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../../src/main/node.js';
import { startTestNode } from '../support/engram-node.js';
import { waitFor } from '../support/free-port.js';
import { EngramClient } from '../support/http-client.js';
import { startTestStack, taskCounts, waitUntilSettled, type TestStack } from './support/stack.js';

const USER = 'outage-user';
/** A user past the scope that a search ranks from its sketches: their searches need Chroma. */
const LARGE_USER = 'outage-large-user';
const LARGE_USER_MEMORIES = 260;

interface Timed<T> {
  readonly response: T;
  readonly ms: number;
}

async function timed<T>(call: () => Promise<T>): Promise<Timed<T>> {
  const began = performance.now();
  const response = await call();
  return { response, ms: performance.now() - began };
}

describe('outages of a dependency', () => {
  let stack: TestStack;
  let node: RunningNode;
  let client: EngramClient;
  /** Writes answered 202. */
  let written = 0;

  const write = async (text: string) => {
    const response = await client.request<{ task_id: string }>('POST', '/memory', { user_id: USER, session_id: 's', text });
    if (response.status === 202) written += 1;
    return response;
  };
  const search = (user = USER, topK = 10) =>
    client.request<{ error?: { code: string }; results?: Array<{ text: string }> }>('POST', '/memory/search', { user_id: user, query: 'garden', top_k: topK });
  const readiness = () => client.request<{ dependencies: Record<string, string> }>('GET', '/readyz');

  before(async () => {
    stack = await startTestStack({ ENGRAM_RECOVER_AFTER_MS: '2000', ENGRAM_PII: 'off' });
    node = await stack.startNode({ api: true, worker: true });
    client = stack.client(node.url ?? '');
  });

  after(() => stack.stop());

  it("loses no write while Chroma is stopped for 30 s, answers a small user's searches from the sketches and a large user's 503 with Retry-After meanwhile", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await write('a garden before the outage')).status, 202);
    const large = await client.request('POST', '/memory/batch', {
      items: Array.from({ length: LARGE_USER_MEMORIES }, (_, index) => ({ user_id: LARGE_USER, session_id: 's', text: `the garden, note ${index}` })),
    });
    assert.equal(large.status, 202);
    await waitUntilSettled(stack, 30_000);

    await stack.chroma.pause();
    let searches = 0;
    try {
      const stoppedAt = Date.now();
      while (Date.now() - stoppedAt < 30_000) {
        assert.equal((await write('a garden during the outage')).status, 202, 'writes are still accepted');
        // Deep enough for every garden of the user, those written meanwhile among them.
        const small = await search(USER, 100);
        assert.equal(small.status, 200);
        assert.equal((small.body.results ?? []).filter((result) => result.text === 'a garden before the outage').length, 10);
        const { response, ms } = await timed(() => search(LARGE_USER));
        assert.equal(response.status, 503);
        assert.equal(response.body.error?.code, 'dependency_unavailable');
        assert.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After is set');
        assert.ok(ms < 5_000, `a search during the outage took ${Math.round(ms)} ms`);
        searches += 1;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const ready = await readiness();
      assert.equal(ready.status, 503);
      assert.equal(ready.body.dependencies['chroma'], 'down');
      assert.equal((await taskCounts(stack))['failed'] ?? 0, 0, 'no write failed during the outage');
    } finally {
      // The next tests need Chroma, whatever failed here.
      await stack.chroma.start();
    }
    const counts = await waitUntilSettled(stack, 60_000);
    assert.equal(counts['failed'] ?? 0, 0);
    assert.equal(counts['completed'], written + LARGE_USER_MEMORIES);
    assert.equal((await stack.liveMemoryIds()).length, written + LARGE_USER_MEMORIES);
    assert.equal((await stack.vectorIds([USER])).length, written);
    assert.equal((await search()).status, 200);
    assert.equal((await search(LARGE_USER)).status, 200);
    assert.ok(searches > 10);
  });

  it('answers 503 with Retry-After while Postgres refuses connections, and recovers when it is back', async () => {
    const name = stack.database.name;
    const admin = stack.database.url.replace(`/${name}`, '/postgres');
    const { default: pg } = await import('pg');
    const run = async (sql: string): Promise<void> => {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await run(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await run(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    try {
      for (const call of [() => write('while postgres is away'), search, () => client.request('GET', '/memory/some-id')]) {
        const { response, ms } = await timed(call);
        assert.equal(response.status, 503);
        assert.ok(Number(response.headers.get('retry-after')) > 0);
        assert.ok(ms < 7_000, `took ${Math.round(ms)} ms`);
      }
      const ready = await readiness();
      assert.equal(ready.body.dependencies['postgres'], 'down');
    } finally {
      await run(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    const before = written;
    assert.equal((await write('after postgres is back')).status, 202);
    assert.equal(written, before + 1);
    await waitUntilSettled(stack, 30_000);
    assert.equal((await readiness()).status, 200);
  });

  it('still accepts writes while Redis is down, says so in /readyz, and stores them once it is back', async () => {
    const completedBefore = (await taskCounts(stack))['completed'] ?? 0;
    await stack.redis.crash();
    try {
      for (let i = 0; i < 5; i++) {
        const { response, ms } = await timed(() => write('while redis is away'));
        assert.equal(response.status, 202, 'the write is durable in Postgres');
        assert.ok(ms < 5_000, `took ${Math.round(ms)} ms`);
      }
      const ready = await readiness();
      assert.equal(ready.status, 503);
      assert.equal(ready.body.dependencies['redis'], 'down');
    } finally {
      await stack.redis.start();
    }
    await waitUntilSettled(stack, 40_000);
    assert.equal((await taskCounts(stack))['completed'], completedBefore + 5);
    assert.equal((await stack.vectorIds([USER])).length, written);
  });
});

describe('an embedded node whose Chroma is killed', () => {
  it('starts Chroma again by itself and serves searches and writes with all it had', async () => {
    const node = await startTestNode('embedded', { ENGRAM_PII: 'off' });
    try {
      const client = new EngramClient(node.url, node.apiKey);
      const user = 'killed-chroma-user';
      const write = async (text: string): Promise<string> => {
        const accepted = await client.request<{ task_id: string }>('POST', '/memory', { user_id: user, session_id: 's', text });
        assert.equal(accepted.status, 202);
        return accepted.body.task_id;
      };
      const searchIds = async (): Promise<string[] | null> => {
        const found = await client.request<{ results: Array<{ text: string }> }>('POST', '/memory/search', {
          user_id: user,
          query: 'garden roses',
        });
        return found.status === 200 ? found.body.results.map((hit) => hit.text).sort() : null;
      };
      assert.equal(await client.waitForTask(await write('my garden has red roses')), 'completed');
      const pidFile = join(node.env['ENGRAM_DATA_DIR'] ?? '', 'chroma.pid');
      const first = Number((await readFile(pidFile, 'utf8')).trim());
      process.kill(first, 'SIGKILL');
      const during = await write('the roses in my garden bloomed');
      await waitFor(async () => Number((await readFile(pidFile, 'utf8')).trim()) !== first, 30_000, 'chroma to start again');
      assert.equal(await client.waitForTask(during), 'completed');
      await waitFor(async () => (await searchIds())?.length === 2, 30_000, 'searches to find both memories');
      assert.deepEqual(await searchIds(), ['my garden has red roses', 'the roses in my garden bloomed']);
      assert.equal((await client.request('GET', '/readyz')).status, 200);
      const metrics = await client.request<{ raw: string }>('GET', '/metrics');
      assert.match(metrics.body.raw, /^engram_dependency_stops_total\{dependency="chroma"\} 1$/m);
      assert.match(metrics.body.raw, /^engram_dependency_stops_total\{dependency="postgres"\} 0$/m);
      assert.match(metrics.body.raw, /^engram_dependency_stops_total\{dependency="embedder"\} 0$/m);
      assert.match(metrics.body.raw, /^engram_dependency_start_failures_total\{dependency="chroma"\} 0$/m);
    } finally {
      await node.stop();
    }
  });
});
