import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliServer } from '../support/cli.js';
import { waitFor } from '../support/free-port.js';
import { rawHttpAnswer } from '../support/raw-http.js';
import { startTestStack, taskCounts, waitUntilSettled } from './support/stack.js';

describe('shutdown', () => {
  it('drains the jobs in flight on SIGTERM: none is lost, and a new worker finishes the rest', async () => {
    const stack = await startTestStack({ ENGRAM_RECOVER_AFTER_MS: '2000', ENGRAM_PII: 'off' });
    const workers: CliServer[] = [];
    try {
      const api = await stack.startNode({ api: true, worker: false });
      const client = stack.client(api.url ?? '');
      const items = Array.from({ length: 400 }, (_, i) => ({ id: `drain-${i}`, user_id: `drain-user-${i % 4}`, session_id: 's', text: `memory number ${i} about the sea` }));
      for (let start = 0; start < items.length; start += 100) {
        assert.equal((await client.request('POST', '/memory/batch', { items: items.slice(start, start + 100) })).status, 202);
      }
      const first = new CliServer(['worker'], stack.env);
      workers.push(first);
      const deadline = Date.now() + 60_000;
      while (((await taskCounts(stack))['completed'] ?? 0) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      first.signal('SIGTERM');
      const began = Date.now();
      assert.equal(await first.exited, 0, `the worker exits cleanly\n${first.output}`);
      const drainMs = Date.now() - began;
      assert.ok(drainMs < 20_000, `draining took ${drainMs} ms`);
      const afterStop = await taskCounts(stack);
      assert.equal(afterStop['processing'] ?? 0, 0, `no write is left half done: ${JSON.stringify(afterStop)}`);
      assert.equal(afterStop['failed'] ?? 0, 0);

      workers.push(new CliServer(['worker'], stack.env));
      const counts = await waitUntilSettled(stack, 60_000);
      assert.equal(counts['completed'], 400);
      assert.equal((await stack.liveMemoryIds()).length, 400);
      assert.equal((await stack.vectorIds(['drain-user-0', 'drain-user-1', 'drain-user-2', 'drain-user-3'])).length, 400);
      process.stdout.write(`# drain: SIGTERM to exit ${drainMs} ms; ${afterStop['completed'] ?? 0} of 400 done by then\n`);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
      await stack.stop();
    }
  });
});

describe('overload', () => {
  it('sheds writes with 503 overloaded once the backlog of pending writes is full', async () => {
    const stack = await startTestStack({ ENGRAM_MAX_PENDING_WRITES: '30', ENGRAM_PII: 'off' });
    try {
      // No worker: nothing drains the backlog.
      const api = await stack.startNode({ api: true, worker: false });
      const client = stack.client(api.url ?? '');
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const response = await client.request<{ error?: { code: string } }>('POST', '/memory', { user_id: 'u', session_id: 's', text: `m ${i}` });
        statuses.push(response.status);
        if (response.status === 503) {
          assert.equal(response.body.error?.code, 'overloaded');
          assert.ok(Number(response.headers.get('retry-after')) > 0);
        }
      }
      assert.equal(statuses.filter((status) => status === 202).length, 30);
      assert.equal(statuses.filter((status) => status === 503).length, 10);
      const batch = await client.request('POST', '/memory/batch', { items: [{ user_id: 'u', session_id: 's', text: 'one more' }] });
      assert.equal(batch.status, 503);
      assert.equal((await taskCounts(stack))['queued'], 30, 'a shed write leaves nothing behind');
    } finally {
      await stack.stop();
    }
  });

  it('sheds requests beyond the in-flight cap with 503 overloaded, and serves the rest', async () => {
    const stack = await startTestStack({ ENGRAM_MAX_IN_FLIGHT_REQUESTS: '2', ENGRAM_PII: 'off' });
    try {
      const node = await stack.startNode({ api: true, worker: true });
      const client = stack.client(node.url ?? '');
      const { body } = await client.request<{ task_id: string }>('POST', '/memory', { user_id: 'u', session_id: 's', text: 'the lighthouse keeper' });
      await client.waitForTask(body.task_id);
      const rssBefore = process.memoryUsage().rss;
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, i) => client.request<{ error?: { code: string } }>('POST', '/memory/search', { user_id: 'u', query: `lighthouse ${i}` })),
      );
      const byStatus = new Map<number, number>();
      for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
      assert.deepEqual([...byStatus.keys()].sort(), [200, 503], JSON.stringify([...byStatus]));
      for (const answer of answers.filter((a) => a.status === 503)) {
        assert.equal(answer.body.error?.code, 'overloaded');
        assert.ok(Number(answer.headers.get('retry-after')) > 0);
      }
      assert.equal((await client.request('GET', '/healthz')).status, 200, 'probes are never shed');
      const grewMb = (process.memoryUsage().rss - rssBefore) / 1_048_576;
      process.stdout.write(`# in-flight cap 2: ${JSON.stringify([...byStatus])}, rss grew ${grewMb.toFixed(1)} MiB\n`);
    } finally {
      await stack.stop();
    }
  });

  it('answers 408 to a request whose body stops arriving, and frees its place for others', async () => {
    const stack = await startTestStack({ ENGRAM_MAX_IN_FLIGHT_REQUESTS: '1', ENGRAM_REQUEST_TIMEOUT_MS: '1000', ENGRAM_PII: 'off' });
    try {
      const node = await stack.startNode({ api: true, worker: false });
      const client = stack.client(node.url ?? '');
      // Headers, and the first bytes of a body that never ends: the one request allowed in flight.
      const answered = rawHttpAnswer(
        node.url ?? '',
        `POST /memory HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${stack.apiKey}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"user_id": "slow", ',
      );
      await waitFor(
        async () => (await client.request('POST', '/memory/search', { user_id: 'u', query: 'held' })).status === 503,
        5_000,
        'the slow request to hold the only place',
      );

      const began = performance.now();
      const answer = await answered;
      assert.match(answer.statusLine, /^HTTP\/1\.1 408 /);
      assert.deepEqual(answer.body, {
        error: { code: 'request_timeout', message: 'the request did not arrive in time' },
      });
      assert.ok(performance.now() - began < 5_000, 'answered within its limit and the check that follows it');
      await waitFor(
        async () => (await client.request('POST', '/memory/search', { user_id: 'u', query: 'free again' })).status === 200,
        5_000,
        'its place to be free again',
      );
    } finally {
      await stack.stop();
    }
  });
});
