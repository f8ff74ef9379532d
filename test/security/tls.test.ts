import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createBullmqJobQueue } from '../../src/adapters/bullmq/bullmq-job-queue.js';
import { postgresConnection } from '../../src/adapters/postgres/connection-config.js';
import { createPostgresMetadataStore } from '../../src/adapters/postgres/postgres-metadata-store.js';
import { PostgresSqlClient } from '../../src/adapters/postgres/postgres-sql-client.js';
import { DependencyUnavailableError, ValidationError } from '../../src/domain/errors.js';
import type { JobQueue, WriteJob } from '../../src/ports/job-queue.js';
import type { MetadataStore } from '../../src/ports/metadata-store.js';
import { createCertificateAuthority, issueServerCertificate } from '../support/certificates.js';
import { silentLogger } from '../support/logger.js';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres.js';
import { startTlsRedis, type TlsRedis } from '../support/tls-redis.js';

// One CA signs the servers' certificate; another, which signed nothing of ours, plays the impostor's.
const certificates = await mkdtemp(join(tmpdir(), 'engram-tls-'));
after(() => rm(certificates, { recursive: true, force: true }));
const ca = await createCertificateAuthority(certificates, 'engram-ca');
const otherCa = await createCertificateAuthority(certificates, 'other-ca');
const serverCertificate = await issueServerCertificate(ca, certificates, 'server');

/** Asserts that `call` fails with `dependency` unavailable within `ms`, and returns the underlying reason. */
async function unavailableWithin(ms: number, dependency: string, call: () => Promise<unknown>): Promise<string> {
  const startedAt = Date.now();
  let reason = '';
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof DependencyUnavailableError, `got ${String(error)}`);
    assert.equal(error.dependency, dependency);
    reason = error.cause instanceof Error ? error.cause.message : String(error.cause);
    return true;
  });
  const elapsed = Date.now() - startedAt;
  assert.ok(elapsed < ms, `took ${elapsed} ms`);
  return reason;
}

describe('PostgreSQL over TLS', () => {
  let postgres: TlsPostgres;
  const opened: MetadataStore[] = [];

  before(async () => {
    postgres = await startTlsPostgres(serverCertificate);
  });
  after(async () => {
    await Promise.all(opened.map((store) => store.close()));
    await postgres?.stop();
  });

  async function openStore(url: string): Promise<MetadataStore> {
    const store = await createPostgresMetadataStore({ url, poolSize: 2, logger: silentLogger() });
    opened.push(store);
    return store;
  }

  it('connects with sslmode=require, migrates and answers a ping', async () => {
    const store = await openStore(postgres.url({ sslmode: 'require' }));
    await store.migrate();
    await store.ping();
  });

  it('connects with sslmode=verify-full when the URL names our CA and the host its certificate names', async () => {
    const store = await openStore(postgres.url({ sslmode: 'verify-full', sslrootcert: ca.certFile }, 'localhost'));
    await store.migrate();
    await store.ping();
  });

  it('verifies the certificate against an IP address it names, too', async () => {
    const store = await openStore(postgres.url({ sslmode: 'verify-full', sslrootcert: ca.certFile }, '127.0.0.1'));
    await store.ping();
  });

  it('runs every session of the store encrypted, as the server itself reports', async () => {
    const url = postgres.url({ sslmode: 'verify-full', sslrootcert: ca.certFile }, 'localhost');
    const client = new PostgresSqlClient({ connection: await postgresConnection(url), poolSize: 1, logger: silentLogger() });
    try {
      const [own] = await client.query<{ ssl: boolean; version: string }>(
        'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      assert.equal(own?.ssl, true);
      assert.match(own?.version ?? '', /^TLSv1\.[23]$/);
    } finally {
      await client.close();
    }

    // The store's own pooled sessions, seen from outside: every one of them is encrypted.
    const store = await openStore(url);
    await store.ping();
    const observer = new pg.Client({ connectionString: postgres.url({}), ssl: { rejectUnauthorized: false } });
    await observer.connect();
    try {
      const { rows } = await observer.query<{ sessions: number; plain: number }>(
        `SELECT count(*)::int AS sessions, count(*) FILTER (WHERE NOT s.ssl)::int AS plain
           FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
          WHERE a.application_name = 'engram'`,
      );
      assert.ok((rows[0]?.sessions ?? 0) > 0, 'the store holds no session');
      assert.equal(rows[0]?.plain, 0);
    } finally {
      await observer.end();
    }
  });

  it('refuses, at once and saying why, a server whose certificate another CA signed', async () => {
    const url = postgres.url({ sslmode: 'verify-full', sslrootcert: otherCa.certFile }, 'localhost');
    const reason = await unavailableWithin(3_000, 'postgres', () => openStore(url));
    assert.match(reason, /certificate/i);
  });

  it('checks the certificate with sslmode=require when the URL names a CA, as libpq does', async () => {
    const store = await openStore(postgres.url({ sslmode: 'require', sslrootcert: ca.certFile }, '127.0.0.1'));
    await store.ping();
    const url = postgres.url({ sslmode: 'require', sslrootcert: otherCa.certFile }, 'localhost');
    const reason = await unavailableWithin(3_000, 'postgres', () => openStore(url));
    assert.match(reason, /certificate/i);
  });

  it('refuses a CA file it cannot read as invalid configuration, before connecting', async () => {
    const url = postgres.url({ sslmode: 'verify-full', sslrootcert: join(certificates, 'missing.crt') }, 'localhost');
    await assert.rejects(() => openStore(url), ValidationError);
  });

  it('is turned away by the server when sslmode=disable asks for plain text', async () => {
    const reason = await unavailableWithin(3_000, 'postgres', () => openStore(postgres.url({ sslmode: 'disable' })));
    assert.match(reason, /pg_hba\.conf rejects connection .*no encryption/);
  });
});

describe('Redis over TLS', () => {
  let redis: TlsRedis;
  const opened: JobQueue[] = [];

  before(async () => {
    redis = await startTlsRedis(serverCertificate, ca.certFile);
  });
  after(async () => {
    await Promise.all(opened.map((queue) => queue.close()));
    await redis?.stop();
  });

  function openQueue(redisUrl: string): JobQueue {
    const queue = createBullmqJobQueue({ redisUrl, queueName: randomUUID(), logger: silentLogger() });
    opened.push(queue);
    return queue;
  }

  it('carries a job from enqueue to a consumer over rediss:// when the URL names our CA', async () => {
    const queue = openQueue(redis.url('rediss', { ca: ca.certFile }));
    const taskId = randomUUID();
    let consumed: (job: WriteJob) => void = () => undefined;
    const received = new Promise<WriteJob>((resolve) => (consumed = resolve));
    const consumer = queue.consume(async (job) => consumed(job), { concurrency: 1 });
    let timer: NodeJS.Timeout | undefined;
    try {
      await queue.enqueue([{ taskIds: [taskId] }]);
      const job = await Promise.race([
        received,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no job within 10 s')), 10_000))),
      ]);
      assert.deepEqual(job.taskIds, [taskId]);
      // The handler's success is recorded back over the same TLS connections.
      const deadline = Date.now() + 5_000;
      while ((await queue.depth()) > 0) {
        assert.ok(Date.now() < deadline, 'the job was never marked done');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      clearTimeout(timer);
      await consumer.close();
    }
  });

  it('verifies the certificate against an IP address it names, too', async () => {
    const queue = openQueue(redis.url('rediss', { ca: ca.certFile }, '127.0.0.1'));
    await queue.ping();
  });

  it('reports Redis unavailable quickly when another CA signed the server certificate', async () => {
    const queue = openQueue(redis.url('rediss', { ca: otherCa.certFile }));
    await unavailableWithin(2_500, 'redis', () => queue.ping());
  });

  it('trusts only the system roots when the URL names no CA', async () => {
    const queue = openQueue(redis.url('rediss'));
    await unavailableWithin(2_500, 'redis', () => queue.ping());
  });

  it('reports Redis unavailable quickly when redis:// speaks plain text to the TLS port', async () => {
    const queue = openQueue(redis.url('redis'));
    await unavailableWithin(2_500, 'redis', () => queue.ping());
    await unavailableWithin(2_500, 'redis', () => queue.enqueue([{ taskIds: [randomUUID()] }]));
  });

  it('rejects a CA file it cannot read, or a CA on a plain redis:// URL, as invalid configuration', () => {
    const missing = join(certificates, 'missing.crt');
    assert.throws(() => openQueue(redis.url('rediss', { ca: missing })), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.ok(!error.message.includes(redis.password), 'the message repeats the password');
      assert.match(error.message, /CA certificate file/);
      return true;
    });
    assert.throws(() => openQueue(redis.url('redis', { ca: ca.certFile })), /the ca parameter needs rediss:\/\//);
  });
});
