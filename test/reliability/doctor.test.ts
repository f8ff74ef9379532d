import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createChromaVectorStore } from '../../src/adapters/chroma/chroma-vector-store.js';
import { USE_LITE_DIMENSIONS, useLiteModelId } from '../../src/adapters/embedding/use-lite-model.js';
import type { RunningNode } from '../../src/main/node.js';
import { runCli } from '../support/cli.js';
import type { EngramClient } from '../support/http-client.js';
import { silentLogger } from '../support/logger.js';
import { startTestStack, TENANT, waitUntilSettled, type TestStack } from './support/stack.js';

const USER = 'doctor-user';

describe('engram doctor', () => {
  let stack: TestStack;
  let node: RunningNode;
  let client: EngramClient;
  const ids = ['doctor-1', 'doctor-2', 'doctor-3'];

  before(async () => {
    stack = await startTestStack({ ENGRAM_PII: 'off' });
    node = await stack.startNode({ api: true, worker: true });
    client = stack.client(node.url ?? '');
    for (const [index, id] of ids.entries()) {
      await client.request('POST', '/memory', { id, user_id: USER, session_id: 's', text: `doctor memory ${index} about sailing boats` });
    }
    await waitUntilSettled(stack, 20_000);
  });

  after(() => stack.stop());

  it('reports nothing when the stores agree', async () => {
    const result = await runCli(['doctor', '--json'], stack.env);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { missingVectors: number; orphanVectors: number; ownersChecked: number };
    assert.equal(report.ownersChecked, 1);
    assert.equal(report.missingVectors, 0);
    assert.equal(report.orphanVectors, 0);
  });

  it('reports a vector missing from Chroma and an orphan vector, and --fix repairs both', async () => {
    const vectors = await stack.vectorStore();
    const [kept] = await stack.sql<{ embedding: Buffer }>('SELECT embedding FROM memories WHERE id = $1', ['doctor-2']);
    assert.ok(kept !== undefined);
    await vectors.remove(TENANT, USER, ['doctor-1']);
    await vectors.upsert([
      {
        id: 'orphan-1',
        tenantId: TENANT,
        userId: USER,
        sessionId: 's',
        role: 'user',
        createdAt: new Date(),
        metadata: {},
        embedding: new Float32Array(kept.embedding.buffer, kept.embedding.byteOffset, kept.embedding.byteLength / 4),
      },
    ]);

    const found = await runCli(['doctor'], stack.env);
    assert.equal(found.code, 1, 'drift without --fix fails, so scripts notice');
    assert.match(found.stdout, /missing vectors: 1/);
    assert.match(found.stdout, /orphan vectors: {2}1/);
    assert.match(found.stdout, /missing: doctor-1/);
    assert.match(found.stdout, /orphans: orphan-1/);
    assert.match(found.stderr, /doctor --fix/);

    const fixed = await runCli(['doctor', '--fix'], stack.env);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /repaired: 1 vectors restored, 1 orphans removed/);

    assert.deepEqual(await stack.vectorIds([USER]), ids);
    const again = await runCli(['doctor'], stack.env);
    assert.equal(again.code, 0, again.stdout);
    const search = await client.request<{ results: Array<{ id: string }> }>('POST', '/memory/search', {
      user_id: USER,
      query: 'sailing boats',
      top_k: 10,
    });
    assert.deepEqual(search.body.results.map((result) => result.id).sort(), ids, 'the restored memory is found again');
  });
});

describe('engram doctor on a store an earlier version set up with 8 buckets', () => {
  let stack: TestStack;
  const ids = ['bucket-1', 'bucket-2', 'bucket-3'];

  before(async () => {
    stack = await startTestStack({ ENGRAM_PII: 'off' });
    // What the earlier version recorded in Chroma when it set the store up; later ones keep it.
    const earlier = await createChromaVectorStore({ url: stack.chroma.url, logger: silentLogger(), buckets: 8 });
    await earlier.bindModel({ id: await useLiteModelId(), dimensions: USE_LITE_DIMENSIONS });
    await earlier.close();
    const node = await stack.startNode({ api: true, worker: true });
    const client = stack.client(node.url ?? '');
    for (const [index, id] of ids.entries()) {
      await client.request('POST', '/memory', { id, user_id: USER, session_id: 's', text: `bucket memory ${index} about gardens` });
    }
    await waitUntilSettled(stack, 20_000);
  });

  after(() => stack.stop());

  it('checks the collections the store recorded, and finds them in agreement', async () => {
    const result = await runCli(['doctor', '--json'], stack.env);
    assert.equal(result.code, 0, result.stdout);
    const report = JSON.parse(result.stdout) as { missingVectors: number; orphanVectors: number; ownersChecked: number };
    assert.deepEqual([report.ownersChecked, report.missingVectors, report.orphanVectors], [1, 0, 0]);
    const names = (await (await fetch(`${stack.chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`)).json()) as Array<{ name: string }>;
    assert.ok(!names.some((collection) => collection.name.startsWith('engram_b2_')), 'a collection of another bucket count was made');
  });
});

describe('engram doctor with accepted writes that no worker drives', () => {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ ENGRAM_PII: 'off' });
  });

  after(() => stack.stop());

  it('fails, with or without --fix, once they wait far past recovery, and not before', async () => {
    const node = await stack.startNode({ api: true, worker: false });
    const client = stack.client(node.url ?? '');
    const accepted = await client.request('POST', '/memory', { user_id: USER, session_id: 's', text: 'a write no worker takes' });
    assert.equal(accepted.status, 202);
    const fresh = await runCli(['doctor'], stack.env);
    assert.equal(fresh.code, 0, fresh.stderr);
    await stack.sql("UPDATE write_tasks SET updated_at = now() - interval '1 hour'");
    for (const args of [['doctor'], ['doctor', '--fix']]) {
      const result = await runCli(args, stack.env);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stdout, /stuck tasks: +1/);
      assert.match(result.stderr, /is a worker running/);
    }
  });
});
