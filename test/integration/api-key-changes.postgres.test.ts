import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { postgresConnection } from '../../src/adapters/postgres/connection-config.js';
import { PostgresKeyChanges } from '../../src/adapters/postgres/postgres-key-changes.js';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import { PostgresSqlClient } from '../../src/adapters/postgres/postgres-sql-client.js';
import { SqlApiKeyRepository } from '../../src/adapters/sql/api-key-repository.js';
import { RememberedApiKeys } from '../../src/adapters/sql/remembered-api-keys.js';
import type { MetadataStore, StoredApiKey } from '../../src/ports/metadata-store.js';
import { waitFor } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { freezableProxy } from '../support/postgres-proxy.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshStore(): Promise<{ database: TestDatabase; store: MetadataStore }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const store = await createPostgresMetadataStore({ url: database.url, logger: silentLogger() });
  cleanups.push(() => store.close());
  await store.migrate();
  return { database, store };
}

/** Runs one statement on a connection of its own: another process, as far as the store can tell. */
async function elsewhere(url: string, text: string, params: readonly unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, [...params]);
  } finally {
    await client.end();
  }
}

/** A key change is told within milliseconds: ten seconds is room for a slow machine. */
const TOLD_WITHIN_MS = 10_000;

async function nameOf(store: MetadataStore, id: string): Promise<string | null | undefined> {
  return (await store.apiKeys.findActive(id))?.record.name;
}

/**
 * Makes `store` remember key `id`, shown by a change to its name, which the database does not
 * announce (it decides nothing): the store keeps answering the name it read. Until the store
 * listens (from its first lookup on) it reads the key every time, and a change it has not heard of
 * yet may leave it answering an older name: each attempt starts with an announced change. Returns
 * the name remembered; the database holds it followed by ", renamed".
 */
async function remembered(database: TestDatabase, store: MetadataStore, id: string): Promise<string> {
  let attempt = 0;
  let name = '';
  await waitFor(async () => {
    attempt += 1;
    name = `name ${attempt}`;
    // Naming the tenant as it is announces a change: whatever the store remembered is forgotten.
    await elsewhere(database.url, 'UPDATE api_keys SET name = $2, tenant_id = tenant_id WHERE id = $1', [id, name]);
    if ((await nameOf(store, id)) !== name) return false;
    await elsewhere(database.url, 'UPDATE api_keys SET name = $2 WHERE id = $1', [id, `${name}, renamed`]);
    return (await nameOf(store, id)) === name;
  }, TOLD_WITHIN_MS, 'remembering the key');
  return name;
}

/** The keys table, with a hook run after the next lookup has read its row and before it answers. */
class KeysWithPause extends SqlApiKeyRepository {
  afterNextRead: (() => Promise<void>) | null = null;

  override async findActive(id: string): Promise<StoredApiKey | null> {
    const found = await super.findActive(id);
    const pause = this.afterNextRead;
    this.afterNextRead = null;
    await pause?.();
    return found;
  }
}

describe('API keys on a shared PostgreSQL', () => {
  it('remembers a key, and refuses it once another process revokes it', async () => {
    const { database, store } = await freshStore();
    await store.apiKeys.create({ id: 'key-a', tenantId: 'tenant-a', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await remembered(database, store, 'key-a');

    await elsewhere(database.url, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', ['key-a']);
    await waitFor(async () => (await store.apiKeys.findActive('key-a')) === null, TOLD_WITHIN_MS, 'refusing the revoked key');
  });

  it('forgets a key removed by another process, and one whose hash changed', async () => {
    const { database, store } = await freshStore();
    await store.apiKeys.create({ id: 'key-b', tenantId: 'tenant-b', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await store.apiKeys.create({ id: 'key-c', tenantId: 'tenant-c', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await remembered(database, store, 'key-b');
    await remembered(database, store, 'key-c');

    await elsewhere(database.url, 'DELETE FROM api_keys WHERE id = $1', ['key-b']);
    await elsewhere(database.url, 'UPDATE api_keys SET secret_hash = $2 WHERE id = $1', ['key-c', Buffer.alloc(32, 2)]);
    await waitFor(async () => (await store.apiKeys.findActive('key-b')) === null, TOLD_WITHIN_MS, 'forgetting the removed key');
    await waitFor(
      async () => (await store.apiKeys.findActive('key-c'))?.secretHash.equals(Buffer.alloc(32, 2)) === true,
      TOLD_WITHIN_MS,
      'reading the new hash',
    );
  });

  it('forgets every key when the table is emptied by TRUNCATE, which no row trigger tells of', async () => {
    const { database, store } = await freshStore();
    await store.apiKeys.create({ id: 'key-t', tenantId: 'tenant-t', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await remembered(database, store, 'key-t');

    await elsewhere(database.url, 'TRUNCATE api_keys');
    await waitFor(async () => (await store.apiKeys.findActive('key-t')) === null, TOLD_WITHIN_MS, 'forgetting the truncated keys');
  });

  it('reads keys afresh while its listening connection is lost, and remembers them again once it is back', async () => {
    const { database, store } = await freshStore();
    await store.apiKeys.create({ id: 'key-d', tenantId: 'tenant-d', name: 'first', secretHash: Buffer.alloc(32, 1) });
    const name = await remembered(database, store, 'key-d');

    await elsewhere(
      database.url,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'engram-key-changes'`,
    );
    // Nothing remembered from before the loss is answered, and a revoke made meanwhile holds.
    await waitFor(async () => (await nameOf(store, 'key-d')) === `${name}, renamed`, TOLD_WITHIN_MS, 'forgetting the key');
    await elsewhere(database.url, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', ['key-d']);
    await waitFor(async () => (await store.apiKeys.findActive('key-d')) === null, TOLD_WITHIN_MS, 'refusing the revoked key');

    await store.apiKeys.create({ id: 'key-e', tenantId: 'tenant-e', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await remembered(database, store, 'key-e');
  });

  it('gives up on a listening connection that hangs, and listens on the next', async () => {
    const { database, store } = await freshStore();
    await store.apiKeys.create({ id: 'key-h', tenantId: 'tenant-h', name: null, secretHash: Buffer.alloc(32, 1) });
    const proxy = await freezableProxy();
    cleanups.push(() => proxy.close());
    const proxied = new URL(database.url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const changes = new PostgresKeyChanges({
      connection: await postgresConnection(proxied.toString()),
      connectTimeoutMs: 500,
      logger: silentLogger(),
    });
    cleanups.push(() => changes.close());

    proxy.freeze();
    assert.equal(changes.listening(), false);
    await waitFor(async () => proxy.connections() === 1, TOLD_WITHIN_MS, 'the connection reaching the proxy');
    // The route breaks for good under the connection under way; new ones go through.
    proxy.strand();
    await waitFor(async () => changes.listening(), TOLD_WITHIN_MS, 'listening on a new connection');
    const forgotten: (string | null)[] = [];
    changes.onChange((keyId) => forgotten.push(keyId));
    await elsewhere(database.url, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', ['key-h']);
    await waitFor(async () => forgotten.includes('key-h'), TOLD_WITHIN_MS, 'hearing of the revoke');
  });

  it('does not remember a key whose lookup read it before a change told while the lookup ran', async () => {
    const { database } = await freshStore();
    const connection = await postgresConnection(database.url);
    const client = new PostgresSqlClient({ connection, logger: silentLogger() });
    cleanups.push(() => client.close());
    const changes = new PostgresKeyChanges({ connection, logger: silentLogger() });
    cleanups.push(() => changes.close());
    const keys = new KeysWithPause(client);
    const remembering = new RememberedApiKeys(keys, changes);
    await keys.create({ id: 'key-f', tenantId: 'tenant-f', name: 'first', secretHash: Buffer.alloc(32, 1) });
    await waitFor(async () => changes.listening(), TOLD_WITHIN_MS, 'listening for key changes');
    let told = 0;
    changes.onChange(() => (told += 1));

    // Another process revokes the key after the lookup read it, and the change is told before the
    // lookup answers: the answer is the key as read, and it must not be remembered.
    keys.afterNextRead = async () => {
      await elsewhere(database.url, 'UPDATE api_keys SET revoked_at = now() WHERE id = $1', ['key-f']);
      await waitFor(async () => told > 0, TOLD_WITHIN_MS, 'hearing of the revoke');
    };
    assert.equal((await remembering.findActive('key-f'))?.record.id, 'key-f');
    assert.equal(await remembering.findActive('key-f'), null);
  });
});
