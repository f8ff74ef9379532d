import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { postgresConnection } from '../../src/adapters/postgres/connection-config.js';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import { PostgresSqlClient } from '../../src/adapters/postgres/postgres-sql-client.js';
import { createSqlMetadataStore } from '../../src/adapters/sql/sql-metadata-store.js';
import { DependencyUnavailableError, isDomainError } from '../../src/domain/errors.js';
import type { SearchScope } from '../../src/domain/filters.js';
import type { MemoryDraft } from '../../src/domain/memory.js';
import { metadataStoreContract, rowSecurityContract } from '../contracts/metadata-store.contract.js';
import {
  assertPreparedStatements,
  assertReadEach,
  assertTransactionOf,
  assertTransactionOfWaitsForOpenTransaction,
} from '../contracts/sql-client.contract.js';
import { freePort } from '../support/free-port.js';
import { silentLogger } from '../support/logger.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from '../support/postgres.js';
import { freezableProxy } from '../support/postgres-proxy.js';
import { MIGRATIONS } from '../../src/adapters/sql/migrations/index.js';
import { runMigrations } from '../../src/adapters/sql/migrate.js';
import { scopeIdsStatement } from '../../src/adapters/sql/scope-ids.js';
import { sketchOf } from '../../src/domain/vector-sketch.js';
import { float32ToBase64 } from '../../src/support/float32-bytes.js';
import type { SqlStatement } from '../../src/adapters/sql/sql-client.js';
import { KnownWordCounts } from '../../src/adapters/sql/known-word-counts.js';
import { SqlMemoryRepository } from '../../src/adapters/sql/memory-repository.js';
import { RowScope } from '../../src/adapters/sql/row-scope.js';
import { countsToKeep, wordSearchStatement, type KnownCounts, type MatchedRows } from '../../src/adapters/sql/word-search.js';
import { queryWords } from '../../src/services/query-words.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshDatabase(options: { readonly cLocale?: boolean } = {}): Promise<TestDatabase> {
  const database = await createTestDatabase(options);
  cleanups.push(() => database.drop());
  return database;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A login role without superuser rights, and a database it owns, as a managed service would give. */
async function databaseOwnedByPlainRole(): Promise<{ url: string; role: string }> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 16);
  const role = `engram_owner_${suffix}`;
  const name = `engram_test_owned_${suffix}`;
  await admin(async (client) => {
    await client.query(`CREATE ROLE ${role} LOGIN`);
    await client.query(`CREATE DATABASE ${name} OWNER ${role}`);
  });
  cleanups.push(() =>
    admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    }),
  );
  const url = new URL(POSTGRES_ADMIN_URL);
  url.username = role;
  url.pathname = `/${name}`;
  return { url: url.toString(), role };
}

metadataStoreContract('PostgreSQL', async () =>
  createPostgresMetadataStore({ url: (await freshDatabase()).url, logger: silentLogger() }),
);

metadataStoreContract('PostgreSQL, connected as a non-superuser owner,', async () =>
  createPostgresMetadataStore({ url: (await databaseOwnedByPlainRole()).url, poolSize: 4, logger: silentLogger() }),
);

rowSecurityContract('PostgreSQL, connected as a superuser,', async () => {
  const { url } = await freshDatabase();
  const client = new PostgresSqlClient({ connection: await postgresConnection(url), logger: silentLogger() });
  return { client, store: await createSqlMetadataStore({ client, logger: silentLogger() }) };
});

describe('PostgreSQL row-level security for a plain login role', () => {
  let database: TestDatabase;
  let reader: pg.Client;
  const tenant = `tenant-${randomUUID()}`;

  before(async () => {
    database = await freshDatabase();
    const store = await createPostgresMetadataStore({ url: database.url, logger: silentLogger() });
    await store.migrate();
    const [accepted] = await store.tasks.accept([
      {
        taskId: randomUUID(),
        idempotencyKey: null,
        draft: {
          id: 'm1',
          tenantId: tenant,
          userId: 'u1',
          sessionId: 's1',
          role: 'user',
          text: 'hello',
          createdAt: new Date(),
          metadata: {},
        },
      },
    ]);
    assert.ok(accepted);
    await store.close();

    const role = `engram_reader_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${role} LOGIN IN ROLE engram_app`);
    });
    cleanups.push(() => admin(async (client) => void (await client.query(`DROP ROLE IF EXISTS ${role}`))));
    const url = new URL(database.url);
    url.username = role;
    reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
    cleanups.push(() => reader.end());
  });

  it('sees no row of any tenant when it names none', async () => {
    const { rows } = await reader.query<{ count: string }>('SELECT count(*) AS count FROM write_tasks');
    assert.equal(rows[0]?.count, '0');
  });

  it('sees a tenant’s rows once it names that tenant', async () => {
    await reader.query('BEGIN');
    try {
      await reader.query(`SELECT set_config('engram.tenant_id', $1, true)`, [tenant]);
      const { rows } = await reader.query<{ memory_id: string }>('SELECT memory_id FROM write_tasks');
      assert.deepEqual(
        rows.map((row) => row.memory_id),
        ['m1'],
      );
    } finally {
      await reader.query('ROLLBACK');
    }
  });
});

describe('PostgreSQL applies and erasures side by side', () => {
  it('never leaves a memory accepted before an erasure live, whichever of the two commits first', async () => {
    const store = await createPostgresMetadataStore({ url: (await freshDatabase()).url, poolSize: 4, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const tenantId = `tenant-${randomUUID()}`;
    let applied = 0;
    let erased = 0;
    for (let round = 0; round < 20; round += 1) {
      const userId = `user-${round}`;
      const drafts: MemoryDraft[] = Array.from({ length: 8 }, (_, index) => ({
        id: `m-${round}-${index}`,
        tenantId,
        userId,
        sessionId: 's',
        role: 'user',
        text: `turn ${index} of round ${round}`,
        createdAt: new Date(),
        metadata: {},
      }));
      const accepted = await store.tasks.accept(drafts.map((draft) => ({ taskId: randomUUID(), draft, idempotencyKey: null })));
      const batch = drafts.map((draft, index) => ({
        ...draft,
        version: accepted[index]?.seq ?? 0,
        updatedAt: new Date(),
        embedding: new Float32Array([1, 0, 0]),
      }));
      // Half the rounds start the erasure first: either may win the user's lock.
      const [outcomes] =
        round % 2 === 0
          ? await Promise.all([store.memories.applyMany(batch), store.memories.eraseUser(tenantId, userId)])
          : await Promise.all([store.memories.eraseUser(tenantId, userId), store.memories.applyMany(batch)]).then(([, found]) => [found] as const);
      for (const outcome of outcomes) {
        if (outcome.applied) applied += 1;
        else {
          assert.equal(outcome.reason, 'erased');
          erased += 1;
        }
      }
      assert.deepEqual(await store.memories.getMany(tenantId, drafts.map((draft) => draft.id)), []);
    }
    assert.equal(applied + erased, 20 * 8);
  });
});

describe('PostgreSQL migrations', () => {
  it('are applied once when several processes start at the same time', async () => {
    const { url } = await freshDatabase();
    const stores = await Promise.all(
      [1, 2, 3].map(() => createPostgresMetadataStore({ url, poolSize: 2, logger: silentLogger() })),
    );
    try {
      await Promise.all(stores.map((store) => store.migrate()));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const applied = await client
        .query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
        .finally(() => client.end());
      assert.deepEqual(
        applied.rows.map((row) => row.version),
        MIGRATIONS.map((migration) => migration.version),
      );
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

/** A fresh database with every migration before the one named applied, as an older Engram left it. */
async function migratedUpTo(name: string): Promise<PostgresSqlClient> {
  const { url } = await freshDatabase();
  const client = new PostgresSqlClient({ connection: await postgresConnection(url), poolSize: 1, logger: silentLogger() });
  cleanups.push(() => client.close());
  const next = MIGRATIONS.find((migration) => migration.name === name)?.version ?? 0;
  await runMigrations(client, MIGRATIONS.filter((migration) => migration.version < next), silentLogger());
  return client;
}

describe('PostgreSQL migration of stored memories', () => {
  it('indexes the words of memories stored before the word table existed', async () => {
    const client = await migratedUpTo('memory-terms');
    // Written as a superuser, as an older Engram had them: live, removed, in two tenants.
    await client.query(
      `INSERT INTO memories (tenant_id, id, user_id, session_id, role, text, embedding, metadata, created_at, updated_at, version, deleted)
       VALUES ('red', 'old', 'u1', 's1', 'user', 'An old note about the lighthouse', '\\x00', '{}', now(), now(), 1, false),
              ('red', 'gone', 'u1', 's1', 'user', NULL, NULL, NULL, now(), now(), 2, true),
              ('blue', 'old', 'u1', 's1', 'user', 'A lighthouse in blue', '\\x00', '{}', now(), now(), 3, false)`,
    );
    const store = await createSqlMetadataStore({ client, logger: silentLogger() });
    await store.migrate();
    const found = async (tenantId: string, word: string) =>
      (await store.memories.findByWords({ scope: { tenantId, userId: 'u1' }, words: [word], limit: 10 })).map((match) => match.id);
    assert.deepEqual(await found('red', 'lighthouses'), ['old']);
    assert.deepEqual(await found('blue', 'lighthouse'), ['old']);
    assert.deepEqual(await found('blue', 'note'), []);
  });
});

describe('PostgreSQL migration of ordinals', () => {
  it('gives turns stored after it ordinals past those given before, keeping equal times in order', async () => {
    const client = await migratedUpTo('ordinals-follow-writes');
    // As an older Engram left them: ordinals from the identity, well past the write order.
    await client.query(`SELECT setval(pg_get_serial_sequence('memories', 'ordinal'), 5000)`);
    await client.query(
      `INSERT INTO memories (tenant_id, id, user_id, session_id, role, text, embedding, metadata, created_at, updated_at, version, deleted)
       VALUES ('red', 'before', 'u1', 's1', 'user', 'said first', '\\x00', '{}', '2025-01-01T00:00:00Z', now(), 1, false)`,
    );
    const store = await createSqlMetadataStore({ client, logger: silentLogger() });
    await store.migrate();
    const turn = { id: 'after', tenantId: 'red', userId: 'u1', sessionId: 's1', role: 'user' as const, text: 'said next', createdAt: new Date('2025-01-01T00:00:00Z'), metadata: {} };
    const [accepted] = await store.tasks.accept([{ taskId: randomUUID(), draft: turn, idempotencyKey: null }]);
    assert.ok(accepted !== undefined && accepted.seq > 5001);
    await store.memories.apply({ ...turn, version: accepted.seq, updatedAt: new Date(), embedding: new Float32Array([1]) });
    const page = await store.memories.findHistory({ tenantId: 'red', sessionId: 's1', limit: 10 });
    assert.deepEqual(page.items.map((item) => item.id), ['before', 'after']);
  });
});

describe('PostgreSQL connectivity', () => {
  it('reports an unreachable server as postgres being unavailable', async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/engram`;
    await assert.rejects(
      createPostgresMetadataStore({ url, connectTimeoutMs: 1_000, logger: silentLogger() }),
      (error: unknown) => error instanceof DependencyUnavailableError && error.dependency === 'postgres',
    );
  });

  it('reports a ping as postgres being unavailable once the server drops and refuses connections', async () => {
    const { url, name } = await freshDatabase();
    const store = await createPostgresMetadataStore({ url, logger: silentLogger() });
    try {
      await store.ping();
      await admin((client) =>
        client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]),
      );
      await refuseNewConnections(name);
      await assert.rejects(store.ping(), { code: 'dependency_unavailable' });
    } finally {
      await store.close();
    }
  });

  it('reports a server that stops answering as postgres being unavailable, with no limit on the unhurried way', async () => {
    const { url } = await freshDatabase();
    const proxy = await freezableProxy();
    cleanups.push(() => proxy.close());
    const proxied = new URL(url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const client = new PostgresSqlClient({
      connection: await postgresConnection(proxied.toString()),
      statementTimeoutMs: 500,
      connectTimeoutMs: 1_000,
      logger: silentLogger(),
    });
    cleanups.push(() => client.close());
    assert.deepEqual(await client.query('SELECT 1 AS one'), [{ one: 1 }]);

    proxy.freeze();
    const began = performance.now();
    await assert.rejects(client.query('SELECT 2'), { code: 'dependency_unavailable' });
    await assert.rejects(
      client.transaction((tx) => tx.query('SELECT 3')),
      { code: 'dependency_unavailable' },
    );
    const [read] = client.readEach([], [{ text: 'SELECT 4 AS four', params: [], prepare: true }]);
    await assert.rejects(read ?? Promise.resolve(), { code: 'dependency_unavailable' });
    // The first waited for its answer; the others, on new connections, for the server to greet them.
    assert.ok(performance.now() - began < 6_000, 'each statement gave up after its limit');
    proxy.thaw();
    assert.deepEqual(await client.query('SELECT 5 AS five'), [{ five: 5 }]);

    // Longer than the limit, and answered: migrations and vacuums go this way.
    assert.deepEqual(await client.unhurried.query('SELECT 6 AS six FROM pg_sleep(0.8)'), [{ six: 6 }]);
    await assert.rejects(client.query('SELECT pg_sleep(0.8)'), { code: 'dependency_unavailable' });
  });

  it("removes a memory's words by their whole key, reading index pages for its words, not its user's", async () => {
    const { url } = await freshDatabase();
    const store = await createPostgresMetadataStore({ url, poolSize: 1, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const drafts = Array.from({ length: 2000 }, (_, index): MemoryDraft => ({
      id: `turn-${index}`,
      tenantId: 'words',
      userId: 'talker',
      sessionId: 's',
      role: 'user',
      text: `turn ${index} about the garden`,
      createdAt: new Date(),
      metadata: {},
    }));
    const accepted = await store.tasks.accept(drafts.map((draft) => ({ taskId: randomUUID(), draft, idempotencyKey: null })));
    await store.memories.applyMany(drafts.map((draft, index) => ({ ...draft, version: accepted[index]?.seq ?? 0, updatedAt: new Date(), embedding: new Float32Array([1, 0, 0]) })));
    // As an erasure clears them: one statement as Engram's role under the tenant's policy, the
    // trigger run for each row; counted within the transaction, which is then dropped.
    const read = await inTenantTransaction(url, 'words', async (client) => {
      await client.query(
        `UPDATE memories SET deleted = true, text = NULL, embedding = NULL, sketch = NULL, metadata = NULL WHERE tenant_id = 'words' AND user_id = 'talker'`,
      );
      const [row] = (await client.query<{ pages: string }>(`SELECT pg_stat_get_xact_blocks_fetched('memory_terms_pkey'::regclass) AS pages`)).rows;
      return Number(row?.pages);
    });
    // Three words each ("turn", the number, "garden"), a few pages of the index for each: about
    // 6 pages a memory. Read from the user's whole range of the index, it was 59, and grew with them.
    assert.ok(read <= 2000 * 10, `read ${read} index pages to remove 2,000 memories' words`);
  });

  it('tells a transaction given up in a deadlock as a concurrent change worth another try', async () => {
    const { url } = await freshDatabase();
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), poolSize: 2, logger: silentLogger() });
    cleanups.push(() => client.close());
    await client.query('CREATE TABLE crossed (id int PRIMARY KEY, n int NOT NULL)');
    await client.query('INSERT INTO crossed VALUES (1, 0), (2, 0)');
    const crosswise = (first: number, second: number): Promise<unknown[]> =>
      client.transactionOf([
        { text: 'UPDATE crossed SET n = n + 1 WHERE id = $1', params: [first] },
        { text: 'SELECT pg_sleep(0.3)', params: [] },
        { text: 'UPDATE crossed SET n = n + 1 WHERE id = $1', params: [second] },
      ]);
    const outcomes = await Promise.allSettled([crosswise(1, 2), crosswise(2, 1)]);
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    assert.equal(refused.length, 1, 'one of the two was given up');
    assert.ok(isDomainError(refused[0]) && refused[0].code === 'concurrent_change' && refused[0].retryable);
    // The one given up left nothing behind, and its connection serves on.
    assert.deepEqual(await client.query('SELECT sum(n)::int AS total FROM crossed'), [{ total: 2 }]);
    assert.deepEqual(await Promise.all([client.query('SELECT 1 AS one'), client.query('SELECT 2 AS two')]), [[{ one: 1 }], [{ two: 2 }]]);
  });

  it("erases a user with no time limit, while other statements have one", async () => {
    const { url } = await freshDatabase();
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), statementTimeoutMs: 300, logger: silentLogger() });
    const store = await createSqlMetadataStore({ client, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    // Another session holds the user's lock for longer than the limit, as a long erasure would run.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query(`SELECT pg_advisory_lock(hashtext('red'), hashtext('ann'))`);
    const released = sleep(900).then(() => holder.query(`SELECT pg_advisory_unlock(hashtext('red'), hashtext('ann'))`));

    await assert.rejects(client.query(`SELECT pg_advisory_xact_lock(hashtext('red'), hashtext('ann'))`), { code: 'dependency_unavailable' });
    assert.equal((await store.memories.eraseUser('red', 'ann')).erased, 0);
    await released;
  });

  it('stores nothing of a write it answered as failed at the statement limit, once the server could go on', async () => {
    const { url } = await freshDatabase();
    const store = await createPostgresMetadataStore({ url, poolSize: 1, statementTimeoutMs: 300, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const write = (): { taskId: string; draft: MemoryDraft; idempotencyKey: null } => ({
      taskId: randomUUID(),
      draft: { id: randomUUID(), tenantId: 'red', userId: 'ann', sessionId: 's', role: 'user', text: 'a turn', createdAt: new Date(), metadata: {} },
      idempotencyKey: null,
    });
    // The first accept prepares its statements on the pool's one connection: the next goes in one
    // round trip, its commit (the Sync) sent along with the insert.
    const [first] = await store.tasks.accept([write()]);
    assert.ok(first !== undefined && !first.replayed);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE write_tasks IN SHARE MODE');
    const late = write();
    await assert.rejects(store.tasks.accept([late]), { code: 'dependency_unavailable' });
    await holder.query('COMMIT');
    // Taken again once every insert that waited for it has ended, the lock tells that the write
    // answered as failed is not stored late, which a retry (without id or key) would duplicate.
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE write_tasks IN SHARE MODE');
    await holder.query('COMMIT');
    assert.equal(await store.tasks.find('red', late.taskId), null);
    assert.equal((await store.tasks.find('red', first.taskId))?.status, 'queued');
  });

  it("holds a write of a user being erased until the erasure ends, and numbers it after, leaving other users' alone", async () => {
    const { url } = await freshDatabase();
    const store = await createPostgresMetadataStore({ url, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const write = (userId: string): { taskId: string; draft: MemoryDraft; idempotencyKey: null } => ({
      taskId: randomUUID(),
      draft: { id: randomUUID(), tenantId: 'red', userId, sessionId: 's', role: 'user', text: 'a turn', createdAt: new Date(), metadata: {} },
      idempotencyKey: null,
    });
    // Another session holds ann's lock as her erasure does, and draws its number in the write order.
    const eraser = new pg.Client({ connectionString: url });
    await eraser.connect();
    cleanups.push(() => eraser.end());
    await eraser.query('BEGIN');
    await eraser.query(`SELECT pg_advisory_xact_lock(hashtext('red'), hashtext('ann'))`);
    const [{ erasure } = { erasure: '0' }] = (await eraser.query<{ erasure: string }>(`SELECT nextval('write_seq') AS erasure`)).rows;

    let held = true;
    const ann = store.tasks.accept([write('ann'), write('bea')]).finally(() => (held = false));
    const [bob] = await store.tasks.accept([write('bob')]);
    await sleep(300);
    assert.ok(held, "ann's write waits for her erasure");
    assert.ok(bob !== undefined && !bob.replayed);
    await eraser.query('COMMIT');
    const accepted = await ann;
    assert.equal(accepted.length, 2);
    for (const task of accepted) assert.ok(task.seq > Number(erasure), `write ${task.seq} numbered after the erasure ${erasure}`);
  });

  it('finds a word of any alphabet as it was written on a database of the C locale, which lowercases ASCII only', async () => {
    const { url } = await freshDatabase({ cLocale: true });
    const store = await createPostgresMetadataStore({ url, logger: silentLogger() });
    cleanups.push(() => store.close());
    await store.migrate();
    const drafts = ['We flew to Москва in March', 'Ärger mit dem Vermieter', 'A quiet week at home'].map(
      (text, index): MemoryDraft => ({ id: `m${index}`, tenantId: 'red', userId: 'ann', sessionId: `s${index}`, role: 'user', text, createdAt: new Date(Date.UTC(2025, 0, 1, index)), metadata: {} }),
    );
    await store.memories.applyMany(drafts.map((draft, index) => ({ ...draft, version: index + 1, updatedAt: new Date(), embedding: new Float32Array([1, 0, 0]) })));
    const found = async (query: string): Promise<string[]> =>
      (await store.memories.findByWords({ scope: { tenantId: 'red', userId: 'ann' }, words: queryWords(query), limit: 10 })).map((match) => match.id);

    assert.deepEqual(await found('When did we go to Москва?'), ['m0']);
    assert.deepEqual(await found('Ärger'), ['m1']);
    assert.deepEqual(await found('QUIET'), ['m2']);
  });

  it('takes the statement limit it is given, or none', async () => {
    const { url } = await freshDatabase();
    const limited = await createPostgresMetadataStore({ url, statementTimeoutMs: 300, logger: silentLogger() });
    cleanups.push(() => limited.close());
    await limited.migrate();
    const unlimited = await createPostgresMetadataStore({ url, statementTimeoutMs: 0, logger: silentLogger() });
    cleanups.push(() => unlimited.close());
    // Another session holds the table for longer than the limit, as a paused server would hold a read.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE memories IN ACCESS EXCLUSIVE MODE');
    const released = sleep(900).then(() => holder.query('COMMIT'));

    await assert.rejects(limited.memories.get('red', randomUUID()), { code: 'dependency_unavailable' });
    assert.equal(await unlimited.memories.get('red', randomUUID()), null);
    await released;
    assert.equal(await limited.memories.get('red', randomUUID()), null);
  });

  it('outlives connections ended by the server while lent out, idle or running a statement', async () => {
    // The driver reports such an end as an error event of the connection's client, beside the
    // failed statement; a client without a listener would end the whole process.
    const { url } = await freshDatabase();
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), poolSize: 2, logger: silentLogger() });
    cleanups.push(() => client.close());
    const terminate = (pid: number) => admin((other) => other.query('SELECT pg_terminate_backend($1)', [pid]));
    const backendOf = async (tx: { query: <Row>(text: string) => Promise<Row[]> }): Promise<number> =>
      (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]?.pid ?? 0;

    const betweenStatements = client.transaction(async (tx) => {
      await terminate(await backendOf(tx));
      await sleep(300);
      await tx.query('SELECT 1');
    });
    await assert.rejects(betweenStatements, { code: 'dependency_unavailable' });

    const duringStatement = client.transaction(async (tx) => {
      const pid = await backendOf(tx);
      const sleeping = tx.query('SELECT pg_sleep(5)');
      sleeping.catch(() => undefined); // it fails while the termination is under way; awaited below
      await sleep(200);
      await terminate(pid);
      await sleeping;
    });
    await assert.rejects(duringStatement, { code: 'dependency_unavailable' });
    await sleep(300);

    assert.deepEqual(await client.query('SELECT 1 AS one'), [{ one: 1 }]);
  });
});

/** Makes new connections to the database fail, as a stopped server would. */
async function refuseNewConnections(name: string): Promise<void> {
  await admin((client) => client.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`));
}

describe('PostgreSQL TLS settings from the URL', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'engram-ca-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
  });

  it('connects in plain text when no sslmode is given or it is disabled', async () => {
    assert.equal((await postgresConnection('postgres://u@db:5432/engram')).ssl, false);
    assert.equal((await postgresConnection('postgres://u@db:5432/engram?sslmode=disable')).ssl, false);
  });

  it('encrypts without checking the certificate for sslmode=require', async () => {
    const connection = await postgresConnection('postgres://u:p@db:5432/engram?sslmode=require');
    assert.deepEqual(connection.ssl, { rejectUnauthorized: false });
    assert.equal(connection.connectionString, 'postgres://u:p@db:5432/engram');
  });

  it('verifies against the CA file named in the URL, or else in the options, for sslmode=verify-full', async () => {
    const fromUrl = join(folder, 'url-ca.pem');
    const fromOption = join(folder, 'option-ca.pem');
    await writeFile(fromUrl, 'URL CA');
    await writeFile(fromOption, 'OPTION CA');
    const named = await postgresConnection(`postgres://db/engram?sslmode=verify-full&sslrootcert=${fromUrl}`, fromOption);
    assert.deepEqual(named.ssl, { rejectUnauthorized: true, ca: 'URL CA' });
    const optional = await postgresConnection('postgres://db/engram?sslmode=verify-full', fromOption);
    assert.deepEqual(optional.ssl, { rejectUnauthorized: true, ca: 'OPTION CA' });
    const system = await postgresConnection('postgres://db/engram?sslmode=verify-full');
    assert.deepEqual(system.ssl, { rejectUnauthorized: true });
  });

  it('checks the certificate against a CA file named with sslmode=require, as verify-ca does', async () => {
    const caPath = join(folder, 'require-ca.pem');
    await writeFile(caPath, 'REQUIRED CA');
    const connection = await postgresConnection(`postgres://db/engram?sslmode=require&sslrootcert=${caPath}`);
    assert.ok(connection.ssl !== false);
    assert.equal(connection.ssl.rejectUnauthorized, true);
    assert.equal(connection.ssl.ca, 'REQUIRED CA');
    assert.equal(connection.ssl.checkServerIdentity?.('elsewhere.example', {} as PeerCertificate), undefined);
  });

  it('refuses settings that would check less than they say: verify-ca without a CA file, system roots without verify-full, ssl=', async () => {
    for (const query of ['sslmode=verify-ca', 'sslmode=verify-ca&sslrootcert=system', 'sslmode=require&sslrootcert=system', 'ssl=true', 'ssl=1']) {
      await assert.rejects(postgresConnection(`postgres://db/engram?${query}`), { code: 'invalid_input' }, query);
    }
    const system = await postgresConnection('postgres://db/engram?sslmode=verify-full&sslrootcert=system');
    assert.deepEqual(system.ssl, { rejectUnauthorized: true });
  });

  it('refuses an unknown sslmode and a CA file that cannot be read', async () => {
    await assert.rejects(postgresConnection('postgres://db/engram?sslmode=sometimes'), { code: 'invalid_input' });
    await assert.rejects(postgresConnection('postgres://db/engram?sslmode=verify-full', join(folder, 'missing.pem')), {
      code: 'invalid_input',
    });
  });
});

interface PlanNode {
  readonly 'Node Type'?: string;
  readonly 'Relation Name'?: string;
  readonly 'Index Cond'?: string;
  readonly Filter?: string;
  readonly Plans?: readonly PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];
/** Runs `work` as Engram runs its statements: in a transaction of the tenant, as the role that row security applies to. */
const inTenantTransaction = async <T>(url: string, tenant: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('engram.tenant_id', $1, true), set_config('role', 'engram_app', true)", [tenant]);
    return await work(client);
  } finally {
    await client.end();
  }
};
/** A parameter's value written into SQL: null as NULL, a list of texts as an array literal. */
const literalOf = (client: pg.Client, value: unknown): string => {
  if (value === null) return 'NULL';
  if (Array.isArray(value)) return client.escapeLiteral(`{${value.map((item) => `"${String(item).replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  return client.escapeLiteral(String(value));
};

/**
 * A statement's plans as Engram runs it (see inTenantTransaction), planned for its values (with
 * metadata filters) or once for all values (prepared).
 */
const plansOf = (url: string, tenant: string, statement: SqlStatement): Promise<{ custom: PlanNode; generic: PlanNode }> =>
  inTenantTransaction(url, tenant, async (client) => {
    const custom = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${statement.text}`, [...statement.params]);
    await client.query(`PREPARE planned AS ${statement.text}`);
    await client.query("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)");
    const values = statement.params.map((value) => literalOf(client, value)).join(', ');
    const generic = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) EXECUTE planned(${values})`);
    return { custom: custom.rows[0]?.['QUERY PLAN'][0].Plan ?? {}, generic: generic.rows[0]?.['QUERY PLAN'][0].Plan ?? {} };
  });

/** A migrated store on a fresh database (closed after the tests), and a tenant name of its own. */
const migratedStoreOfNewTenant = async () => {
  const { url } = await freshDatabase();
  const store = await createPostgresMetadataStore({ url, logger: silentLogger() });
  cleanups.push(() => store.close());
  await store.migrate();
  return { url, store, tenant: `tenant-${randomUUID()}` };
};

type MetadataStoreOf = Awaited<ReturnType<typeof migratedStoreOfNewTenant>>['store'];

/** Accepts the drafts and applies them as the worker would, 2,000 at a time. */
const storeDrafts = async (store: MetadataStoreOf, drafts: readonly MemoryDraft[]): Promise<void> => {
  for (let start = 0; start < drafts.length; start += 2_000) {
    const chunk = drafts.slice(start, start + 2_000);
    const accepted = await store.tasks.accept(chunk.map((draft) => ({ taskId: randomUUID(), draft, idempotencyKey: null })));
    await store.memories.applyMany(
      chunk.map((draft, index) => ({ ...draft, version: accepted[index]?.seq ?? 0, updatedAt: new Date(), embedding: new Float32Array([1, 0]) })),
    );
  }
};

/**
 * Turns `turn-0`, `turn-1`, … a second apart, of users `user-0` … and sessions `session-0` … in
 * turn: each user's turns written among the others'.
 */
const interleavedTurns = (tenant: string, shape: { turns: number; users: number; sessions: number }, text: (index: number) => string): MemoryDraft[] =>
  Array.from({ length: shape.turns }, (_, index) => ({
    id: `turn-${index}`,
    tenantId: tenant,
    userId: `user-${index % shape.users}`,
    sessionId: `session-${index % shape.sessions}`,
    role: 'user' as const,
    text: text(index),
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
    metadata: {},
  }));

/** The rows of a statement as Engram runs it (see inTenantTransaction). */
const rowsOf = <Row>(url: string, tenant: string, statement: SqlStatement): Promise<Row[]> =>
  inTenantTransaction(url, tenant, async (client) => (await client.query<Row & pg.QueryResultRow>(statement.text, [...statement.params])).rows);

/** A word statement for a query that has a word to look for. */
const wordStatement = (...args: Parameters<typeof wordSearchStatement>): SqlStatement => {
  const statement = wordSearchStatement(...args);
  assert.ok(statement);
  return statement;
};

describe('PostgreSQL word search plan', () => {
  it('finds words and the turns around each hit through indexes, under row security, without statistics', async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    // 20,000 turns of 50 users in 200 sessions: enough that, without statistics, the old
    // (tenant, user) index and a filter on the session looked as cheap as walking the history.
    await storeDrafts(store, interleavedTurns(tenant, { turns: 20_000, users: 50, sessions: 200 }, (index) => `turn ${index} about ${index % 7 === 0 ? 'sailing' : 'gardening'}`));
    // No ANALYZE: a fresh table, as a server without autovacuum (or PGlite) leaves it.
    const statement = wordStatement({ scope: { tenantId: tenant, userId: 'user-7' }, words: ['sailing'], limit: 10 });
    const plans = await plansOf(url, tenant, statement);
    for (const [kind, plan] of Object.entries(plans)) {
      const nodes = nodesOf(plan);
      const scans = nodes.filter((node) => node['Relation Name'] === 'memories');
      assert.ok(scans.some((node) => node['Index Cond']?.includes('session_id')), `${kind} plan: no index walk by session`);
      assert.deepEqual(
        scans.filter((node) => node.Filter?.includes('session_id')).map((node) => node.Filter),
        [],
        `${kind} plan`,
      );
      // A word's memories are an index range of memory_terms, never a match tried on each memory.
      const termScans = nodes.filter((node) => node['Relation Name'] === 'memory_terms');
      assert.ok(termScans.length > 0, `${kind} plan`);
      assert.ok(termScans.every((node) => node['Index Cond']?.includes('lexeme')), `${kind} plan: ${JSON.stringify(termScans)}`);
      assert.deepEqual(
        nodes.filter((node) => node.Filter?.includes('@@') && node['Relation Name'] !== undefined).map((node) => node.Filter),
        [],
        `${kind} plan`,
      );
    }
  });
});

describe('PostgreSQL word search loans', () => {
  it('lends the same scores from one pass over the history as from walking out of each match', async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    const words = ['kayak', 'lake', 'paddle', 'storm', 'picnic', 'island'];
    // 300 turns of one user in 3 sessions, another user's turns between them in the same
    // sessions, and turns that share a time (their order of arrival decides).
    const drafts = Array.from({ length: 400 }, (_, index) => ({
      id: `turn-${index}`,
      tenantId: tenant,
      userId: index % 4 === 3 ? 'someone-else' : 'talker',
      sessionId: `session-${index % 4 === 3 ? index % 3 : index % 4}`,
      role: 'user' as const,
      // Every fifth turn shares no word with any query: found only through its neighbours.
      text: index % 5 === 0 ? `fine, thanks (${index})` : `the ${words[index % 6]} and the ${words[(index * 5 + 1) % 6]} (${index})`,
      createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, Math.floor(index / 8))),
      metadata: { topic: index % 3 === 0 ? 'trips' : 'chat' },
    }));
    await storeDrafts(store, drafts);
    for (const index of [12, 13, 57, 101, 250]) await store.memories.remove(tenant, `turn-${index}`);

    const scope = { tenantId: tenant, userId: 'talker' };
    const scopes = [
      scope,
      { ...scope, sessionId: 'session-1' },
      { ...scope, metadata: [{ key: 'topic', op: 'eq' as const, value: 'trips' }] },
      { ...scope, createdAfter: new Date(Date.UTC(2025, 0, 1, 0, 0, 20)), createdBefore: new Date(Date.UTC(2025, 0, 1, 0, 1, 40)) },
    ];
    let lentOnly = 0;
    for (const narrowed of scopes) {
      for (const query of [['kayak'], ['storm', 'island'], words]) {
        const ranked = async (historyPassBelow: number) => {
          return rowsOf<{ id: string; score: number }>(url, tenant, wordStatement({ scope: narrowed, words: query, limit: 400 }, { historyPassBelow }));
        };
        const walked = await ranked(0);
        const passed = await ranked(Number.MAX_SAFE_INTEGER);
        assert.ok(walked.length > 0, JSON.stringify({ narrowed, query }));
        assert.deepEqual(passed.map((row) => row.id), walked.map((row) => row.id), JSON.stringify({ narrowed, query }));
        passed.forEach((row, rank) => assert.ok(Math.abs(row.score - (walked[rank]?.score ?? NaN)) < 1e-12, `${row.id}: ${row.score}`));
        lentOnly += walked.filter((row) => /^fine/.test(drafts[Number(row.id.slice(5))]?.text ?? '')).length;
      }
    }
    // Turns without a query word were found, so the loans were compared, not only the matches.
    assert.ok(lentOnly > 0);
  });
});

/** `count` turns of a user that all hold "garden", the 78th of which also holds "zeppelin". */
const gardenTurns = (tenantId: string, userId: string, count: number): MemoryDraft[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `${userId}-${index}`,
    tenantId,
    userId,
    sessionId: `session-${Math.floor(index / 100)}`,
    role: 'user' as const,
    text: index === 77 ? `the garden zeppelin (${index})` : `the garden again (${index})`,
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
    metadata: {},
  }));

describe('PostgreSQL word search bounds', () => {
  it("takes a large user's candidates from the rarest words only, where a smaller user's come from every word", async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    // Large from LARGE_USER_FROM (500) memories, whether or not their count reaches its cap (1,250).
    await storeDrafts(store, [...gardenTurns(tenant, 'large', 1_300), ...gardenTurns(tenant, 'middling', 600), ...gardenTurns(tenant, 'small', 300)]);

    const ranked = async (userId: string) => {
      return rowsOf<{ id: string; score: number }>(url, tenant, wordStatement({ scope: { tenantId: tenant, userId }, words: ['garden', 'zeppelin'], limit: 1_000 }));
    };
    const large = await ranked('large');
    const small = await ranked('small');

    assert.equal(large[0]?.id, 'large-77');
    assert.equal(small[0]?.id, 'small-77');
    // The large user's match on the rare word, and the two turns on each side it lends to.
    assert.deepEqual(large.map((row) => row.id).sort(), ['large-75', 'large-76', 'large-77', 'large-78', 'large-79']);
    const middling = await ranked('middling');
    assert.deepEqual(middling.map((row) => row.id).sort(), ['middling-75', 'middling-76', 'middling-77', 'middling-78', 'middling-79']);
    // The smaller user's common word is a candidate too: every turn of theirs is scored.
    assert.equal(small.length, 300);

    // Both users' best matches come with their memories, and the first of a large user's with their
    // sketches: their similarity needs one, as they are rarely among the vector search's.
    const brought = async (userId: string) =>
      store.memories.searchLists({
        scope: { tenantId: tenant, userId },
        idsLimit: null,
        words: { words: ['garden', 'zeppelin'], limit: 50, withMemories: 20, withSketches: 3 },
      }).matches;
    const largeBrought = await brought('large');
    const smallBrought = await brought('small');
    assert.equal(largeBrought[0]?.id, 'large-77');
    assert.equal(largeBrought[0]?.memory?.text, 'the garden zeppelin (77)');
    // Its five matches: the rare word's, and the turns it lends to.
    assert.equal(largeBrought.filter((match) => match.memory !== undefined).length, 5);
    const sketch = [...sketchOf(new Float32Array([1, 0]))];
    assert.deepEqual(
      largeBrought.map((match) => (match.sketch === undefined ? null : [...match.sketch])),
      [sketch, sketch, sketch, null, null],
    );
    assert.equal(largeBrought.some((match) => match.embedding !== undefined), false);
    const middlingBrought = await brought('middling');
    assert.deepEqual(
      middlingBrought.map((match) => match.sketch !== undefined),
      [true, true, true, false, false],
    );
    assert.equal(smallBrought.some((match) => match.sketch !== undefined || match.embedding !== undefined), false);
    assert.equal(smallBrought[0]?.memory?.text, 'the garden zeppelin (77)');
    assert.equal(smallBrought.filter((match) => match.memory !== undefined).length, 20);

    // A memory not sketched yet (as an older version left it) comes with its vector instead.
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    await direct.query(`UPDATE memories SET sketch = NULL WHERE tenant_id = $1 AND id = 'large-77'`, [tenant]).finally(() => direct.end());
    const unsketched = await brought('large');
    assert.equal(unsketched[0]?.id, 'large-77');
    assert.equal(unsketched[0]?.sketch, undefined);
    assert.deepEqual(unsketched[0]?.embedding === undefined ? null : [...unsketched[0].embedding], [1, 0]);
    assert.deepEqual(
      unsketched.slice(1).map((match) => match.sketch !== undefined),
      [true, true, false, false],
    );
  });
});

/** A memory repository on the database at `url`, with the word counts it keeps. */
const repositoryRemembering = async (url: string): Promise<{ repository: SqlMemoryRepository; known: KnownWordCounts }> => {
  const client = new PostgresSqlClient({ connection: await postgresConnection(url), logger: silentLogger() });
  cleanups.push(() => client.close());
  const scope = new RowScope(client);
  await scope.refresh();
  const known = new KnownWordCounts();
  return { repository: new SqlMemoryRepository(scope, known), known };
};

/** Rows that each node of the statement's executed plan gave, per loop. */
const rowsPerPlanNode = (url: string, tenant: string, statement: SqlStatement) =>
  inTenantTransaction(url, tenant, async (client) => {
    const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, [...statement.params]);
    return nodesOf(explained.rows[0]?.['QUERY PLAN'][0].Plan ?? {}).map((node) => (node as { 'Actual Rows'?: number })['Actual Rows']);
  });

describe('PostgreSQL word search counts', () => {
  it("hands back a large user's counts that reached their caps, skips them when told, and ranks alike", async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    await storeDrafts(store, [...gardenTurns(tenant, 'large', 1_300), ...gardenTurns(tenant, 'small', 300)]);

    type Row = { id: string; score: number; counted_population: unknown; counted_common_words: unknown };
    const statementFor = (userId: string, known?: KnownCounts, words = ['garden', 'zeppelin']): SqlStatement =>
      wordStatement({ scope: { tenantId: tenant, userId }, words, limit: 1_000 }, {}, undefined, known);
    const rowsPerNode = (statement: SqlStatement) => rowsPerPlanNode(url, tenant, statement);

    const counted = await rowsOf<Row>(url, tenant, statementFor('large'));
    const learned = countsToKeep(counted[0] ?? {});
    // 1,250 memories and more; "garden" in 500 of them and more; "zeppelin" in one.
    assert.deepEqual(learned, { population: 1_250, commonWords: ['garden'] });
    const told = await rowsOf<Row>(url, tenant, statementFor('large', learned));
    assert.deepEqual(told.map((row) => [row.id, row.score]), counted.map((row) => [row.id, row.score]));
    assert.ok(told.length > 0);
    // What it was told it did not count, so it has nothing new to hand back.
    assert.deepEqual(countsToKeep(told[0] ?? {}), { population: null, commonWords: [] });
    // The counts up to the caps (1,250 memories, 500 of them with the word) ran only when not told.
    const untold = await rowsPerNode(statementFor('large', undefined, ['garden']));
    assert.ok(untold.includes(1_250) && untold.includes(500), JSON.stringify(untold));
    const toldRows = await rowsPerNode(statementFor('large', learned, ['garden']));
    assert.ok(!toldRows.includes(1_250) && !toldRows.includes(500), JSON.stringify(toldRows));

    // A user under 500 memories: nothing to keep.
    const small = await rowsOf<Row>(url, tenant, statementFor('small'));
    assert.equal(small.length, 300);
    assert.deepEqual(countsToKeep(small[0] ?? {}), { population: null, commonWords: [] });

    // The repository keeps what its searches counted up to the caps, for that user of that tenant.
    const { repository, known } = await repositoryRemembering(url);
    const search = (userId: string) =>
      repository.searchLists({ scope: { tenantId: tenant, userId }, idsLimit: null, words: { words: ['garden', 'zeppelin'], limit: 50, withMemories: 20 } }).matches;
    const first = await search('large');
    assert.deepEqual(known.of(tenant, 'large'), { population: 1_250, commonWords: ['garden'] });
    assert.deepEqual(await search('large'), first);
    assert.equal(first[0]?.id, 'large-77');
    await search('small');
    assert.deepEqual(known.of(tenant, 'small'), { population: null, commonWords: [] });
    assert.deepEqual(known.of(`${tenant}-other`, 'large'), { population: null, commonWords: [] });
  });

  it("finds no match by a word counted to its cap, and still hands back the counts", async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    // "garden" is in all 1,300 memories: its count reaches the cap of 500 ("again" is a stopword).
    await storeDrafts(store, gardenTurns(tenant, 'large', 1_300));
    type Row = { id: string | null; score: unknown; counted_population: unknown; counted_common_words: unknown };
    const statementFor = (known?: KnownCounts, rows?: MatchedRows): SqlStatement =>
      wordStatement({ scope: { tenantId: tenant, userId: 'large' }, words: ['garden', 'again'], limit: 50 }, {}, rows, known);
    const withRows: MatchedRows = { count: 20, columns: 'text', sketches: 10, sketch: `encode(m.sketch, 'base64')`, vector: `encode(m.embedding, 'base64')` };
    for (const rows of [undefined, withRows]) {
      // One row of counts alone, its id and score null: no match.
      const counted = await rowsOf<Row>(url, tenant, statementFor(undefined, rows));
      assert.deepEqual(counted.map((row) => [row.id, row.score]), [[null, null]]);
      const learned = countsToKeep(counted[0] ?? {});
      assert.deepEqual(learned, { population: 1_250, commonWords: ['garden'] });
      // Told the counts, it has nothing to hand back: no row at all.
      assert.deepEqual(await rowsOf<Row>(url, tenant, statementFor(learned, rows)), []);
    }
    // A rarer word still gives candidates, which the common ones score.
    const rare = wordStatement({ scope: { tenantId: tenant, userId: 'large' }, words: ['garden', 'zeppelin'], limit: 50 });
    assert.deepEqual((await rowsOf<Row>(url, tenant, rare)).map((row) => row.id).slice(0, 1), ['large-77']);

    // Through the repository: no match, and the counts are kept for the user's next search.
    const { repository, known } = await repositoryRemembering(url);
    const matches = await repository.searchLists({
      scope: { tenantId: tenant, userId: 'large' },
      idsLimit: null,
      words: { words: ['garden', 'again'], limit: 50, withMemories: 20, withSketches: 10 },
    }).matches;
    assert.deepEqual(matches, []);
    assert.deepEqual(known.of(tenant, 'large'), { population: 1_250, commonWords: ['garden'] });
  });

  it('hands back the population of a user of 500 memories or more under its cap, counted only when not told', async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    await storeDrafts(store, [...gardenTurns(tenant, 'mid', 600), ...gardenTurns(tenant, 'smaller', 499)]);
    type Row = { id: string | null; score: number | null; counted_population: unknown; counted_common_words: unknown };
    const statementFor = (userId: string, words: string[], known?: KnownCounts): SqlStatement =>
      wordStatement({ scope: { tenantId: tenant, userId }, words, limit: 50 }, {}, undefined, known);
    const counted = await rowsOf<Row>(url, tenant, statementFor('mid', ['zeppelin']));
    assert.equal(counted[0]?.id, 'mid-77');
    const learned = countsToKeep(counted[0] ?? {});
    assert.deepEqual(learned, { population: 600, commonWords: [] });
    // Told, it ranks alike, hands nothing back, and counts no memory of the user.
    const told = await rowsOf<Row>(url, tenant, statementFor('mid', ['zeppelin'], learned));
    assert.deepEqual(told.map((row) => [row.id, row.score]), counted.map((row) => [row.id, row.score]));
    assert.deepEqual(countsToKeep(told[0] ?? {}), { population: null, commonWords: [] });
    assert.ok((await rowsPerPlanNode(url, tenant, statementFor('mid', ['zeppelin']))).includes(600));
    assert.ok(!(await rowsPerPlanNode(url, tenant, statementFor('mid', ['zeppelin'], learned))).includes(600));
    // The population told is the one it weighs by: a larger one makes a rare word weigh more.
    const grown = await rowsOf<Row>(url, tenant, statementFor('mid', ['zeppelin'], { population: 1_000, commonWords: [] }));
    assert.ok((grown[0]?.score ?? 0) > (counted[0]?.score ?? 0));
    // Without a match it still hands the count back, in a row of its own.
    const none = await rowsOf<Row>(url, tenant, statementFor('mid', ['quasar']));
    assert.deepEqual(none.map((row) => [row.id, row.score]), [[null, null]]);
    assert.deepEqual(countsToKeep(none[0] ?? {}), { population: 600, commonWords: [] });
    assert.deepEqual(await rowsOf<Row>(url, tenant, statementFor('mid', ['quasar'], learned)), []);
    // Under 500 memories the count is not kept.
    const smaller = await rowsOf<Row>(url, tenant, statementFor('smaller', ['zeppelin']));
    assert.deepEqual(countsToKeep(smaller[0] ?? {}), { population: null, commonWords: [] });

    const { repository, known } = await repositoryRemembering(url);
    const search = () => repository.searchLists({ scope: { tenantId: tenant, userId: 'mid' }, idsLimit: null, words: { words: ['zeppelin'], limit: 50, withMemories: 20 } }).matches;
    const first = await search();
    assert.deepEqual(known.of(tenant, 'mid'), { population: 600, commonWords: [] });
    assert.deepEqual(await search(), first);
  });
});

describe('PostgreSQL scope ids', () => {
  /** 20 users' turns written among each other's, as a shared store holds them: each user's rows lie on many table pages. */
  const storeOfTwentyUsers = async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    await storeDrafts(store, interleavedTurns(tenant, { turns: 2_000, users: 20, sessions: 60 }, (index) => `turn ${index}`));
    await store.memories.remove(tenant, 'turn-7');
    // What the table upkeep does once the tables have grown.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('VACUUM ANALYZE memories').finally(() => admin.end());
    return { url, store, tenant, scope: { tenantId: tenant, userId: 'user-7' } };
  };

  /** Checks that the statement reads `memories` through as many index-only scans, planned either way, and fetches no heap row. */
  const assertIndexOnly = async (url: string, tenant: string, statement: SqlStatement, scans: number): Promise<void> => {
    for (const [kind, plan] of Object.entries(await plansOf(url, tenant, statement))) {
      const found = nodesOf(plan).filter((node) => node['Relation Name'] === 'memories');
      assert.deepEqual(found.map((node) => node['Node Type']), new Array(scans).fill('Index Only Scan'), `${kind} plan`);
    }
    const run = await inTenantTransaction(url, tenant, async (client) => {
      const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode & { 'Heap Fetches'?: number } }] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
        [...statement.params],
      );
      return nodesOf(explained.rows[0]?.['QUERY PLAN'][0].Plan ?? {}) as Array<PlanNode & { 'Heap Fetches'?: number }>;
    });
    assert.deepEqual(run.filter((node) => node['Relation Name'] === 'memories').map((node) => node['Heap Fetches']), new Array(scans).fill(0));
  };

  it("lists a user's ids from their index range alone, under row security", async () => {
    const { url, store, tenant, scope } = await storeOfTwentyUsers();
    await assertIndexOnly(url, tenant, scopeIdsStatement(scope, 5_001), 1);
    const ids = await store.memories.idsInScope(scope, 5_001);
    assert.equal(ids.length, 99);
    assert.ok(ids.every((id) => Number(id.slice(5)) % 20 === 7) && !ids.includes('turn-7'));
  });

  it("reads a small scope's vector sketches with its ids from the index that holds them, and none of a larger scope", async () => {
    const { url, store, tenant, scope } = await storeOfTwentyUsers();
    await assertIndexOnly(url, tenant, scopeIdsStatement(scope, 5_001, { sketchesUpTo: 250 }), 2);
    const { sketches, ids } = store.memories.searchLists({ scope, idsLimit: 5_001, sketchesUpTo: 250, words: null });
    const listed = await ids;
    const sketched = await sketches;
    assert.ok(listed !== null && sketched !== null);
    assert.equal(sketched.size, 99);
    assert.deepEqual([...sketched.keys()].sort(), [...listed].sort());
    // Every turn was written with the vector [1, 0].
    for (const sketch of sketched.values()) assert.deepEqual([...sketch], [...sketchOf(new Float32Array([1, 0]))]);

    const tooMany = store.memories.searchLists({ scope, idsLimit: 5_001, sketchesUpTo: 98, words: null });
    assert.equal(await tooMany.sketches, null);
    assert.equal((await tooMany.ids)?.length, 99);
    const session = store.memories.searchLists({ scope: { ...scope, sessionId: 'session-7' }, idsLimit: 5_001, sketchesUpTo: 250, words: null });
    assert.deepEqual([...((await session.sketches)?.keys() ?? [])].sort(), [...((await session.ids) ?? [])].sort());
    assert.ok(((await session.ids) ?? []).length > 0);
  });
});

describe('PostgreSQL vector sketches', () => {
  it('sketches the memories written before sketches were kept, and lists none of a scope until all of it is', async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    const drafts = interleavedTurns(tenant, { turns: 30, users: 3, sessions: 2 }, (index) => `turn ${index}`);
    const accepted = await store.tasks.accept(drafts.map((draft) => ({ taskId: randomUUID(), draft, idempotencyKey: null })));
    const vectorOf = (index: number): Float32Array => Float32Array.from({ length: 8 }, (_, dimension) => Math.sin(index * 8 + dimension));
    await store.memories.applyMany(
      drafts.map((draft, index) => ({ ...draft, version: accepted[index]?.seq ?? 0, updatedAt: new Date(), embedding: vectorOf(index) })),
    );
    // As an older version left them.
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    await direct.query(`UPDATE memories SET sketch = NULL WHERE id = ANY($1::text[])`, [[...Array(12).keys()].map((index) => `turn-${index}`)]).finally(() => direct.end());
    const scope = { tenantId: tenant, userId: 'user-1' };
    assert.equal(await store.memories.searchLists({ scope, idsLimit: 101, sketchesUpTo: 100, words: null }).sketches, null);

    assert.equal(await store.memories.fillSketches(5), 5);
    assert.equal(await store.memories.fillSketches(100), 7);
    assert.equal(await store.memories.fillSketches(100), 0);

    const sketched = await store.memories.searchLists({ scope, idsLimit: 101, sketchesUpTo: 100, words: null }).sketches;
    assert.ok(sketched !== null);
    assert.equal(sketched.size, 10);
    for (const [id, sketch] of sketched) assert.deepEqual([...sketch], [...sketchOf(vectorOf(Number(id.slice(5))))], id);

    // A process of an earlier version replaces a vector and knows nothing of sketches: the stale
    // one goes, and the next pass sketches the new vector.
    const replaced = Float32Array.from({ length: 8 }, (_, dimension) => Math.cos(dimension));
    const older = new pg.Client({ connectionString: url });
    await older.connect();
    await older
      .query(`UPDATE memories SET embedding = decode($1, 'base64'), version = version + 1 WHERE tenant_id = $2 AND id = 'turn-4'`, [float32ToBase64(replaced), tenant])
      .finally(() => older.end());
    assert.equal(await store.memories.searchLists({ scope, idsLimit: 101, sketchesUpTo: 100, words: null }).sketches, null);
    assert.equal(await store.memories.fillSketches(100), 1);
    const refreshed = await store.memories.searchLists({ scope, idsLimit: 101, sketchesUpTo: 100, words: null }).sketches;
    assert.deepEqual([...(refreshed?.get('turn-4') ?? [])], [...sketchOf(replaced)]);
  });
});

describe('PostgreSQL plans when one user holds nearly every row', () => {
  it("walks a newcomer's few rows through their index range, after statistics of the large user", async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    const drafts = Array.from({ length: 20_000 }, (_, index) => ({
      id: `turn-${index}`,
      tenantId: tenant,
      userId: index < 19_995 ? 'large' : 'newcomer',
      sessionId: `session-${index % 100}`,
      role: 'user' as const,
      text: `turn ${index} about sailing and ${index % 3 === 0 ? 'gardening' : 'cooking'}`,
      createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
      metadata: {},
    }));
    await storeDrafts(store, drafts);
    // What the table upkeep does once the tables have grown.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('ANALYZE memories').finally(() => admin.query('ANALYZE memory_terms')).finally(() => admin.end());

    const scope = { tenantId: tenant, userId: 'newcomer' };
    const statements = { ids: scopeIdsStatement(scope, 1_001), words: wordSearchStatement({ scope, words: ['sailing', 'gardening'], limit: 50 }) };
    for (const [name, statement] of Object.entries(statements)) {
      assert.ok(statement);
      const { generic } = await plansOf(url, tenant, statement);
      const scans = nodesOf(generic).filter((node) => node['Relation Name'] === 'memories' || node['Relation Name'] === 'memory_terms');
      assert.ok(scans.length > 0, name);
      // Every walk of the two tables starts from the user's own entries, never from the whole table.
      assert.deepEqual(
        scans.filter((node) => !(node['Index Cond'] ?? '').includes('user_id') && !(node['Index Cond'] ?? '').includes('id =')).map((node) => `${node['Node Type']} ${node['Relation Name']} ${node['Index Cond'] ?? ''}`),
        [],
        `${name}: ${JSON.stringify(scans.map((node) => [node['Node Type'], node['Relation Name'], node['Index Cond']]))}`,
      );
    }
    assert.equal((await store.memories.idsInScope(scope, 10)).length, 5);
  });
});

describe('PostgreSQL client, statements given up front', () => {
  /**
   * A client over a pool of one, so each check meets the connection the earlier statements used:
   * where a setting must have ended, or a statement must have stayed prepared.
   */
  const withPoolOfOne = async (check: (client: PostgresSqlClient) => Promise<void>): Promise<void> => {
    const { url } = await freshDatabase();
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), poolSize: 1, logger: silentLogger() });
    try {
      await check(client);
    } finally {
      await client.close();
    }
  };

  it('runs them in one transaction: settings carry over, a failure undoes them all', () =>
    withPoolOfOne((client) => assertTransactionOf(client, 'notes')));

  it('runs prepared statements like unprepared ones, whatever the values, and survives their failures', () =>
    withPoolOfOne((client) => assertPreparedStatements(client, 'prepared_notes')));

  it('waits for an open transaction before statements given up front, prepared or not', () =>
    withPoolOfOne((client) => assertTransactionOfWaitsForOpenTransaction(client, 'waiting_notes')));

  it('answers read statements each on its own, after a shared prefix, prepared or not', () => withPoolOfOne((client) => assertReadEach(client)));
});

describe("PostgreSQL word ranking of a small user's listing", () => {
  it('asks a user for their listing alone until it finds them large, and for the word statement beside it until they are small again', async () => {
    const { url, store, tenant } = await migratedStoreOfNewTenant();
    const lakeTurns = (prefix: string, turns: number) =>
      interleavedTurns(tenant, { turns, users: 1, sessions: 2 }, (index) => `the kayak trip ${index % 3 === 0 ? 'to the glacier' : 'on the lake'}`).map((draft) => ({
        ...draft,
        id: `${prefix}-${draft.id}`,
      }));
    await storeDrafts(store, lakeTurns('first', 8));
    // A repository of its own, over a client that tells how many statements each read sends.
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), logger: silentLogger() });
    cleanups.push(() => client.close());
    const sent: number[] = [];
    const readEach = client.readEach.bind(client);
    client.readEach = (prefix, statements) => {
      sent.push(statements.length);
      return readEach(prefix, statements);
    };
    const rowScope = new RowScope(client);
    await rowScope.refresh();
    const repository = new SqlMemoryRepository(rowScope, new KnownWordCounts(), { wordsRankedHereUpTo: 10 });
    const scope = { tenantId: tenant, userId: 'user-0' };
    const words = { words: ['kayaks', 'glacier'], limit: 50 };
    const searchSending = async (narrower: Partial<SearchScope> = {}) => {
      sent.length = 0;
      const matches = await repository.searchLists({ scope: { ...scope, ...narrower }, idsLimit: 5_001, words }).matches;
      return { matches: matches.map(({ id }) => id), sent: [...sent] };
    };
    // Ranked here, scores may differ from the statement's in the last bit (see the contract test).
    const byStatement = async () => (await store.memories.findByWords({ scope, ...words })).map(({ id }) => id);

    // Not known yet: taken to be small, their words come with the listing.
    const first = await byStatement();
    assert.deepEqual(await searchSending(), { matches: first, sent: [1] });
    assert.equal(first[0], 'first-turn-0');
    assert.deepEqual(await searchSending(), { matches: first, sent: [1] });
    // A session is not the whole user: its words are always the statement's.
    assert.deepEqual((await searchSending({ sessionId: 'session-1' })).sent, [2]);

    // Grown past the bound: the listing brings no words, and the statement follows it; then
    // beside it, until a listing finds the user small again.
    await storeDrafts(store, lakeTurns('more', 5));
    const grown = await byStatement();
    assert.equal(grown.length, 13);
    assert.deepEqual(await searchSending(), { matches: grown, sent: [1, 1] });
    assert.deepEqual(await searchSending(), { matches: grown, sent: [2] });
    for (const turn of [0, 1, 2, 3]) await store.memories.remove(tenant, `more-turn-${turn}`);
    const shrunk = await byStatement();
    assert.equal(shrunk.length, 9);
    assert.deepEqual(await searchSending(), { matches: shrunk, sent: [2] });
    assert.deepEqual(await searchSending(), { matches: shrunk, sent: [1] });
  });
});

describe('PostgreSQL and Engram in time zones of their own', () => {
  it('reads and bounds a memory of 1850 to the millisecond, whatever either zone', async () => {
    const database = await freshDatabase();
    // Old offsets of a zone have seconds (New York's local mean time was -04:56:02).
    await admin((client) => client.query(`ALTER DATABASE ${database.name} SET timezone TO 'America/New_York'`));
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Asia/Kolkata';
    try {
      const store = await createPostgresMetadataStore({ url: database.url, logger: silentLogger() });
      cleanups.push(() => store.close());
      await store.migrate();
      const tenantId = `tenant-${randomUUID()}`;
      const createdAt = new Date('1850-06-01T00:00:00.000Z');
      const draft: MemoryDraft = { id: 'old-letter', tenantId, userId: 'uma', sessionId: 's', role: 'user', text: 'A letter from 1850', createdAt, metadata: {} };
      const [accepted] = await store.tasks.accept([{ taskId: randomUUID(), draft, idempotencyKey: null }]);
      await store.memories.applyMany([{ ...draft, version: accepted?.seq ?? 0, updatedAt: new Date(), embedding: new Float32Array([1, 0, 0]) }]);

      const listed = async (bounds: Pick<SearchScope, 'createdAfter' | 'createdBefore'>) =>
        (await store.memories.searchLists({ scope: { tenantId, userId: 'uma', ...bounds }, idsLimit: 10, memoriesUpTo: 10, words: null }).memories) ?? [];
      assert.deepEqual((await listed({})).map((memory) => memory.createdAt.toISOString()), [createdAt.toISOString()]);
      assert.equal((await store.memories.get(tenantId, 'old-letter'))?.createdAt.toISOString(), createdAt.toISOString());
      const justBefore = new Date(createdAt.getTime() - 1);
      const justAfter = new Date(createdAt.getTime() + 1);
      assert.equal((await listed({ createdAfter: justBefore, createdBefore: justAfter })).length, 1);
      assert.equal((await listed({ createdAfter: createdAt })).length, 0);
      assert.equal((await listed({ createdBefore: createdAt })).length, 0);
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });
});
