import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../../src/main/node.js';
import { CliServer } from '../support/cli.js';
import type { EngramClient } from '../support/http-client.js';
import { inParallel, startTestStack, taskCounts, waitUntilSettled, type TestStack } from './support/stack.js';

const USERS = Array.from({ length: 10 }, (_, index) => `chaos-user-${index}`);
const BATCH_SIZE = 50;

/** One HTTP call of the workload, and what it should leave behind. */
type Call =
  | { readonly kind: 'single'; readonly id: string; readonly text: string }
  | { readonly kind: 'idempotent'; readonly key: string; readonly text: string }
  | { readonly kind: 'batch'; readonly items: ReadonlyArray<{ readonly id: string; readonly text: string }> };

function userOf(index: number): string {
  return USERS[index % USERS.length] ?? 'chaos-user-0';
}

/**
 * 1,500 distinct memories: 600 single writes with client ids (100 of them written a second time
 * with a new text), 300 writes without id whose request is sent twice with one Idempotency-Key,
 * and 600 in batches of 50.
 */
function workload(): { calls: Call[]; expectedText: Map<string, string> } {
  const calls: Call[] = [];
  const expectedText = new Map<string, string>();
  for (let i = 0; i < 600; i++) {
    const id = `chaos-single-${i}`;
    calls.push({ kind: 'single', id, text: `single memory ${i} about topic ${i % 37}` });
    expectedText.set(id, `single memory ${i} about topic ${i % 37}`);
  }
  for (let i = 0; i < 100; i++) {
    const id = `chaos-single-${i * 6}`;
    calls.push({ kind: 'single', id, text: `rewritten memory ${i * 6}` });
    expectedText.set(id, `rewritten memory ${i * 6}`);
  }
  for (let i = 0; i < 300; i++) calls.push({ kind: 'idempotent', key: `chaos-key-${randomUUID()}`, text: `keyed memory ${i}` });
  for (let b = 0; b < 600 / BATCH_SIZE; b++) {
    const items = Array.from({ length: BATCH_SIZE }, (_, j) => ({ id: `chaos-batch-${b}-${j}`, text: `batched memory ${b}/${j}` }));
    for (const item of items) expectedText.set(item.id, item.text);
    calls.push({ kind: 'batch', items });
  }
  // Interleave the kinds, but keep each rewrite after its first write.
  const firsts = calls.filter((call) => !(call.kind === 'single' && call.text.startsWith('rewritten')));
  const rewrites = calls.filter((call) => call.kind === 'single' && call.text.startsWith('rewritten'));
  const mixed = firsts.sort((a, b) => hash(a) - hash(b));
  return { calls: [...mixed, ...rewrites], expectedText };
}

function hash(call: Call): number {
  const text = call.kind === 'batch' ? (call.items[0]?.id ?? '') : call.kind === 'single' ? call.id : call.key;
  let value = 0;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) % 1_000_003;
  return value;
}

describe('chaos: writes while the worker is killed and Redis restarts empty', () => {
  let stack: TestStack;
  let api: RunningNode;
  let client: EngramClient;
  const workers: CliServer[] = [];

  before(async () => {
    stack = await startTestStack({ ENGRAM_RECOVER_AFTER_MS: '3000', ENGRAM_PII: 'off' });
    api = await stack.startNode({ api: true, worker: false });
    client = stack.client(api.url ?? '');
  });

  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await stack.stop();
  });

  it('stores every accepted write exactly once, in Postgres and in Chroma', async () => {
    const { calls, expectedText } = workload();
    const keyedIds = new Map<string, string>();
    let answered = 0;
    const refusals: string[] = [];
    let worker = new CliServer(['worker'], stack.env);
    workers.push(worker);

    const send = async (call: Call): Promise<void> => {
      const user = userOf(answered);
      const session = `session-${answered % 7}`;
      if (call.kind === 'batch') {
        const response = await client.request('POST', '/memory/batch', {
          items: call.items.map((item) => ({ id: item.id, user_id: user, session_id: session, text: item.text })),
        });
        if (response.status !== 202) refusals.push(`batch ${response.status}`);
      } else if (call.kind === 'single') {
        const response = await client.request('POST', '/memory', { id: call.id, user_id: userOf(Number(call.id.split('-')[2])), session_id: session, text: call.text });
        if (response.status !== 202) refusals.push(`single ${response.status}`);
      } else {
        const body = { user_id: user, session_id: session, text: call.text };
        const headers = { 'idempotency-key': call.key };
        const first = await client.request<{ id: string; task_id: string }>('POST', '/memory', body, headers);
        const retry = await client.request<{ id: string; task_id: string }>('POST', '/memory', body, headers);
        if (first.status !== 202 || retry.status !== 202) refusals.push(`keyed ${first.status}/${retry.status}`);
        assert.equal(retry.body.task_id, first.body.task_id, 'a retry with the same Idempotency-Key returns the first task');
        keyedIds.set(first.body.id, call.text);
      }
      answered += 1;
    };

    const began = Date.now();
    const third = Math.floor(calls.length / 3);
    await inParallel(calls.slice(0, third), 8, send);
    // The worker is busy by now: kill it without warning in the middle of its jobs, then restart it.
    await waitForCompletions(stack, 1);
    worker.signal('SIGKILL');
    await worker.exited;
    worker = new CliServer(['worker'], stack.env);
    workers.push(worker);
    await inParallel(calls.slice(third, 2 * third), 8, send);
    // Every job and every deduplication record in Redis is lost here.
    await stack.redis.restartEmpty();
    await inParallel(calls.slice(2 * third), 8, send);
    const acceptedMs = Date.now() - began;

    assert.deepEqual(refusals, [], 'every write was accepted');
    for (const [id, text] of keyedIds) expectedText.set(id, text);
    assert.equal(expectedText.size, 1_500);

    const counts = await waitUntilSettled(stack, 150_000);
    const settledMs = Date.now() - began;
    assert.equal(counts['failed'] ?? 0, 0, `no write failed: ${JSON.stringify(counts)}`);

    const rows = await stack.sql<{ id: string; text: string }>('SELECT id, text FROM memories WHERE NOT deleted');
    assert.equal(rows.length, 1_500, 'Postgres holds each memory once');
    for (const row of rows) assert.equal(row.text, expectedText.get(row.id), `memory ${row.id} holds its last write`);

    const vectorIds = await stack.vectorIds(USERS);
    assert.equal(vectorIds.length, 1_500, 'Chroma holds each memory once');
    assert.deepEqual(vectorIds, [...expectedText.keys()].sort(), 'Chroma holds exactly the memories of Postgres');
    process.stdout.write(`# chaos: ${calls.length} calls accepted in ${acceptedMs} ms, all stored after ${settledMs} ms\n`);
  });
});

async function waitForCompletions(stack: TestStack, atLeast: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (((await taskCounts(stack))['completed'] ?? 0) < atLeast) {
    if (Date.now() > deadline) throw new Error('the worker completed nothing within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
