import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import { ApiKeyService } from '../../src/services/api-keys.js';
import { runCli } from '../support/cli.js';
import { startTestNode, type TestNode } from '../support/engram-node.js';
import { EngramClient } from '../support/http-client.js';
import { silentLogger } from '../support/logger.js';

describe('API keys (distributed)', () => {
  let node: TestNode;

  before(async () => {
    node = await startTestNode('distributed');
  });
  after(async () => {
    await node.stop();
  });

  it('stops accepting a revoked key at once, while the server runs', async () => {
    const created = await runCli(['keys', 'create', '--tenant', `tenant-${randomUUID()}`], node.env);
    assert.equal(created.code, 0, created.stderr);
    const key = /key:\s+(\S+)/.exec(created.stdout)?.[1] ?? '';
    const id = /id:\s+(\S+)/.exec(created.stdout)?.[1] ?? '';
    const client = new EngramClient(node.url, key);
    assert.equal((await client.request('GET', '/sessions/s/history')).status, 200);
    const revoked = await runCli(['keys', 'revoke', id], node.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await client.request<{ error: { code: string } }>('GET', '/sessions/s/history');
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'unauthenticated');
  });

  it('stores keys only as hashes and never lists them', async () => {
    const store = await createPostgresMetadataStore({ url: node.env['DATABASE_URL'] ?? '', logger: silentLogger() });
    try {
      const created = await new ApiKeyService(store.apiKeys).create(`tenant-${randomUUID()}`, 'ci');
      const listed = await runCli(['keys', 'list'], node.env);
      assert.equal(listed.code, 0);
      assert.match(listed.stdout, new RegExp(created.record.id));
      assert.ok(!listed.stdout.includes(created.key));
      const stored = await store.apiKeys.findActive(created.record.id);
      assert.ok(stored !== null);
      assert.ok(!stored.secretHash.toString('utf8').includes(created.key));
      assert.equal(stored.secretHash.length, 32);
    } finally {
      await store.close();
    }
  });

  it('refuses a key name that would forge rows of the tab-separated list', async () => {
    const store = await createPostgresMetadataStore({ url: node.env['DATABASE_URL'] ?? '', logger: silentLogger() });
    try {
      const keys = new ApiKeyService(store.apiKeys);
      const tenant = `tenant-${randomUUID()}`;
      for (const name of ['ci\nfake\tdefault', 'tab\there', '\u001b[2Jcleared', '', 'x'.repeat(129)]) {
        await assert.rejects(keys.create(tenant, name), { code: 'invalid_input' }, JSON.stringify(name));
      }
      assert.deepEqual((await store.apiKeys.list()).filter((record) => record.tenantId === tenant), []);
      assert.equal((await keys.create(tenant, 'Backend (prod) — Zürich')).record.name, 'Backend (prod) — Zürich');
    } finally {
      await store.close();
    }
  });
});

describe('the HTTP edge', () => {
  let node: TestNode;
  let client: EngramClient;

  before(async () => {
    node = await startTestNode('embedded', { ENGRAM_RATE_LIMIT_PER_MINUTE: '20' });
    client = new EngramClient(node.url, node.apiKey);
  });
  after(async () => {
    await node.stop();
  });

  it('sends security headers and no CORS permission by default', async () => {
    const response = await client.request('GET', '/sessions/s/history', undefined, { origin: 'https://evil.example' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(response.headers.get('strict-transport-security') !== null);
    assert.ok(response.headers.get('x-frame-options') !== null);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });

  it('answers 429 with Retry-After once a key exceeds its rate', async () => {
    let limited: Awaited<ReturnType<EngramClient['request']>> | null = null;
    for (let attempt = 0; attempt < 40 && limited === null; attempt += 1) {
      const response = await client.request('GET', '/sessions/s/history');
      if (response.status === 429) limited = response;
    }
    assert.ok(limited !== null, 'no request was limited');
    assert.equal((limited.body as { error: { code: string } }).error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const health = await client.withKey(null).request('GET', '/healthz');
    assert.equal(health.status, 200, 'health checks are never rate limited');
  });

  it('limits an address that tries key after key, and then its requests without a key', async () => {
    const seen: number[] = [];
    for (let attempt = 0; attempt < 30; attempt += 1) {
      seen.push((await client.withKey(`egm_${randomUUID()}`).request('GET', '/sessions/s/history')).status);
    }
    assert.deepEqual([...new Set(seen)], [401, 429], seen.join(' '));
    assert.equal(seen.indexOf(429), seen.lastIndexOf(401) + 1, `refused, then limited: ${seen.join(' ')}`);
    for (const key of [null, 'egm_not-a-key']) {
      const limited = await client.withKey(key).request('GET', '/sessions/s/history');
      assert.equal(limited.status, 429, `key ${String(key)}`);
      assert.equal((limited.body as { error: { code: string } }).error.code, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
    }
  });
});
