import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/load-config.js';

describe('loadConfig', () => {
  let dir: string;
  let secretsDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engram-config-'));
    secretsDir = join(dir, 'secrets');
    await mkdir(secretsDir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs embedded with nothing set: PGlite, in-process queue, Chroma child, bundled model, redaction on', () => {
    const config = loadConfig({}, { secretsDir, cwd: dir });
    assert.equal(config.http.port, 8080);
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.database.kind, 'pglite');
    assert.equal(config.queue.kind, 'in-process');
    assert.equal(config.vectorStore.kind, 'embedded-chroma');
    assert.deepEqual(config.embedder, { kind: 'use-lite', threads: 1, queryThreads: 0, runtime: 'onnx-int8' });
    assert.equal(config.pii.mode, 'redact');
    assert.ok(!config.pii.entities.includes('PERSON'));
    assert.equal(config.dataDir, join(dir, '.engram'));
    assert.equal(config.bootstrapApiKey, null);
    assert.deepEqual(config.http.corsOrigins, []);
    assert.equal(config.http.requestTimeoutMs, 120_000);
    assert.equal(config.vectorStore.requestTimeoutMs, 10_000);
  });

  it('runs the bundled model on TF.js or with 32-bit weights when ENGRAM_EMBED_RUNTIME says so, and refuses an unknown runtime', () => {
    const config = loadConfig({ ENGRAM_EMBED_RUNTIME: 'tfjs', ENGRAM_EMBED_THREADS: '0' }, { secretsDir, cwd: dir });
    assert.deepEqual(config.embedder, { kind: 'use-lite', threads: 0, queryThreads: 1, runtime: 'tfjs' });
    assert.deepEqual(loadConfig({ ENGRAM_EMBED_RUNTIME: 'onnx' }, { secretsDir, cwd: dir }).embedder, {
      kind: 'use-lite',
      threads: 1,
      queryThreads: 0,
      runtime: 'onnx',
    });
    assert.throws(() => loadConfig({ ENGRAM_EMBED_RUNTIME: 'gpu' }, { secretsDir, cwd: dir }), /ENGRAM_EMBED_RUNTIME/);
  });

  it('runs search queries\' model where the API runs, in worker threads when ENGRAM_QUERY_EMBED_THREADS asks or on TF.js', () => {
    const config = loadConfig({ ENGRAM_QUERY_EMBED_THREADS: '2', ENGRAM_EMBED_THREADS: '3' }, { secretsDir, cwd: dir });
    assert.deepEqual(config.embedder, { kind: 'use-lite', threads: 3, queryThreads: 2, runtime: 'onnx-int8' });
    assert.deepEqual(loadConfig({ ENGRAM_EMBED_RUNTIME: 'tfjs', ENGRAM_QUERY_EMBED_THREADS: '0' }, { secretsDir, cwd: dir }).embedder, {
      kind: 'use-lite',
      threads: 1,
      queryThreads: 0,
      runtime: 'tfjs',
    });
    assert.throws(() => loadConfig({ ENGRAM_QUERY_EMBED_THREADS: '17' }, { secretsDir, cwd: dir }), /ENGRAM_QUERY_EMBED_THREADS/);
    assert.throws(() => loadConfig({ ENGRAM_QUERY_EMBED_THREADS: '-1' }, { secretsDir, cwd: dir }), /ENGRAM_QUERY_EMBED_THREADS/);
  });

  it('keeps finished tasks 7 days unless ENGRAM_TASK_RETENTION_HOURS says otherwise; 0 keeps them all', () => {
    assert.equal(loadConfig({}, { secretsDir, cwd: dir }).worker.taskRetentionMs, 7 * 24 * 3_600_000);
    assert.equal(loadConfig({ ENGRAM_TASK_RETENTION_HOURS: '24' }, { secretsDir, cwd: dir }).worker.taskRetentionMs, 24 * 3_600_000);
    assert.equal(loadConfig({ ENGRAM_TASK_RETENTION_HOURS: '0' }, { secretsDir, cwd: dir }).worker.taskRetentionMs, 0);
    assert.throws(() => loadConfig({ ENGRAM_TASK_RETENTION_HOURS: '1.5' }, { secretsDir, cwd: dir }), /ENGRAM_TASK_RETENTION_HOURS/);
  });

  it('limits a PostgreSQL statement to 30 s unless ENGRAM_DB_STATEMENT_TIMEOUT_MS says otherwise; 0 is no limit', () => {
    const url = 'postgres://engram@db:5432/engram';
    const limitOf = (env: Record<string, string>): number | undefined => {
      const { database } = loadConfig({ DATABASE_URL: url, ...env }, { secretsDir, cwd: dir });
      return database.kind === 'postgres' ? database.statementTimeoutMs : undefined;
    };
    assert.equal(limitOf({}), 30_000);
    assert.equal(limitOf({ ENGRAM_DB_STATEMENT_TIMEOUT_MS: '120000' }), 120_000);
    assert.equal(limitOf({ ENGRAM_DB_STATEMENT_TIMEOUT_MS: '0' }), 0);
    assert.throws(() => limitOf({ ENGRAM_DB_STATEMENT_TIMEOUT_MS: '-1' }), /ENGRAM_DB_STATEMENT_TIMEOUT_MS/);
    assert.throws(() => limitOf({ ENGRAM_DB_STATEMENT_TIMEOUT_MS: '1.5s' }), /ENGRAM_DB_STATEMENT_TIMEOUT_MS/);
  });

  it('gives a Chroma request 10 s unless ENGRAM_CHROMA_TIMEOUT_MS says otherwise, embedded or not', () => {
    const limitOf = (env: Record<string, string>): number => loadConfig(env, { secretsDir, cwd: dir }).vectorStore.requestTimeoutMs;
    assert.equal(limitOf({ ENGRAM_CHROMA_TIMEOUT_MS: '30000' }), 30_000);
    assert.equal(limitOf({ CHROMA_URL: 'http://chroma:8000', ENGRAM_CHROMA_TIMEOUT_MS: '2500' }), 2_500);
    assert.equal(limitOf({ CHROMA_URL: 'http://chroma:8000' }), 10_000);
    assert.throws(() => limitOf({ ENGRAM_CHROMA_TIMEOUT_MS: '0' }), /ENGRAM_CHROMA_TIMEOUT_MS/);
  });

  it('is frozen, so nothing can change it after start', () => {
    const config = loadConfig({}, { secretsDir, cwd: dir });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.http));
  });

  it('reads a secret from NAME_FILE', async () => {
    const file = join(dir, 'redis-url');
    await writeFile(file, 'redis://:s3cret@127.0.0.1:6390\n');
    const config = loadConfig({ REDIS_URL_FILE: file }, { secretsDir, cwd: dir });
    assert.deepEqual(config.queue, { kind: 'redis', url: 'redis://:s3cret@127.0.0.1:6390' });
  });

  it('reads a secret from the Docker secrets folder under its lowercase name', async () => {
    await writeFile(join(secretsDir, 'engram_api_key'), 'key-from-docker-secret\n');
    await writeFile(join(secretsDir, 'database_url'), 'postgres://engram:pw@db:5432/engram?sslmode=require');
    const config = loadConfig({}, { secretsDir, cwd: dir });
    assert.equal(config.bootstrapApiKey, 'key-from-docker-secret');
    assert.equal(config.database.kind, 'postgres');
    await rm(join(secretsDir, 'engram_api_key'));
    await rm(join(secretsDir, 'database_url'));
  });

  it('refuses a Docker secret that is there but cannot be read, rather than run on embedded stores', async () => {
    await mkdir(join(secretsDir, 'database_url'));
    try {
      assert.throws(() => loadConfig({}, { secretsDir, cwd: dir }), /DATABASE_URL: cannot read the secret/);
    } finally {
      await rm(join(secretsDir, 'database_url'), { recursive: true });
    }
  });

  it('prefers the variable itself over its file and the Docker secret', async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'from-file');
    const config = loadConfig({ ENGRAM_API_KEY: 'from-env', ENGRAM_API_KEY_FILE: file }, { secretsDir, cwd: dir });
    assert.equal(config.bootstrapApiKey, 'from-env');
  });

  it('chooses PII entity types by list or all, and refuses unknown ones', () => {
    assert.deepEqual(loadConfig({ ENGRAM_PII_ENTITIES: 'email, person' }, { secretsDir }).pii.entities, ['EMAIL', 'PERSON']);
    assert.ok(loadConfig({ ENGRAM_PII_ENTITIES: 'all' }, { secretsDir }).pii.entities.includes('ADDRESS'));
    assert.throws(() => loadConfig({ ENGRAM_PII_ENTITIES: 'email,shoe_size' }, { secretsDir }), /SHOE_SIZE/);
  });

  it('names every bad variable in one error, without repeating secret values', () => {
    try {
      loadConfig(
        {
          PORT: 'eighty',
          ENGRAM_PII: 'maybe',
          DATABASE_URL: 'mysql://root:hunter2@db/engram',
          ENGRAM_EMBEDDER: 'openai',
          ENGRAM_API_KEY_FILE: join(dir, 'missing-file'),
        },
        { secretsDir },
      );
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const message = error.message;
      for (const name of ['PORT', 'ENGRAM_PII', 'DATABASE_URL', 'ENGRAM_EMBED_URL', 'ENGRAM_EMBED_MODEL', 'ENGRAM_API_KEY_FILE']) {
        assert.match(message, new RegExp(name));
      }
      assert.doesNotMatch(message, /hunter2/);
    }
  });
  it('refuses, in the same one error, what the stores and the server would refuse only later', async () => {
    try {
      loadConfig(
        {
          DATABASE_URL: 'postgres://engram:hunter2@db/engram?sslmode=bogus',
          REDIS_URL: 'redis://:hunter3@redis:6379/abc',
          HOST: 'bad host!',
          ENGRAM_API_KEY: '  spaced  key  ',
          ENGRAM_PII_ENTITIES: ',',
        },
        { secretsDir },
      );
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(
        error.problems.map((problem) => problem.split(':')[0]),
        ['DATABASE_URL', 'REDIS_URL', 'HOST', 'ENGRAM_API_KEY', 'ENGRAM_PII_ENTITIES'],
      );
      assert.match(error.message, /sslmode "bogus"/);
      assert.match(error.message, /database number/);
      assert.doesNotMatch(error.message, /hunter2|hunter3|spaced/);
    }
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://:p%zz@redis:6379' }, { secretsDir }), /REDIS_URL: .*not an escape/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/engram?ssl=true' }, { secretsDir }), /DATABASE_URL: .*name sslmode/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/engram?sslmode=verify-ca' }, { secretsDir }), /DATABASE_URL: .*needs sslrootcert/);
    for (const mode of ['prefer', 'allow']) {
      assert.throws(() => loadConfig({ DATABASE_URL: `postgres://db/engram?sslmode=${mode}` }, { secretsDir }), /DATABASE_URL: .*would connect in plain text/, mode);
    }
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/engram?sslmode=disable' }, { secretsDir }).database.kind, 'postgres');
    for (const origins of ['*', 'https://app.example.com/', 'app.example.com', 'https://a.example.com, https://b.example.com/path']) {
      assert.throws(() => loadConfig({ ENGRAM_CORS_ORIGINS: origins }, { secretsDir }), /ENGRAM_CORS_ORIGINS: .*is not an origin/, origins);
    }
    assert.deepEqual(loadConfig({ ENGRAM_CORS_ORIGINS: 'https://a.example.com, http://localhost:3000' }, { secretsDir }).http.corsOrigins, [
      'https://a.example.com',
      'http://localhost:3000',
    ]);
    assert.throws(() => loadConfig({ REDIS_URL: 'rediss://:p@redis:6380?ca=' }, { secretsDir }), /REDIS_URL: .*names no file/);
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://:p@redis:6379?tls=true' }, { secretsDir }), /REDIS_URL: the tls parameter is not read here: rediss:\/\//);
    for (const url of ['redis://redis:6379', 'redis://engram@redis:6379', 'rediss://:@redis:6380']) {
      assert.throws(() => loadConfig({ REDIS_URL: url }, { secretsDir }), /REDIS_URL: it names no password/, url);
    }
    assert.throws(() => loadConfig({ ENGRAM_API_KEY: 'x'.repeat(257) }, { secretsDir }), /ENGRAM_API_KEY: expected 1 to 256/);
    const emptyKeyFile = join(dir, 'empty-key');
    await writeFile(emptyKeyFile, '\n');
    assert.throws(() => loadConfig({ ENGRAM_API_KEY_FILE: emptyKeyFile }, { secretsDir }), /ENGRAM_API_KEY: expected 1 to 256/);
    const accepted = loadConfig(
      { DATABASE_URL: 'postgres://db/engram?sslmode=verify-full', REDIS_URL: 'rediss://:p@redis:6380/2?ca=/ca.pem', HOST: '::', ENGRAM_API_KEY: 'egm_abc' },
      { secretsDir },
    );
    assert.equal(accepted.http.host, '::');
    assert.equal(accepted.bootstrapApiKey, 'egm_abc');
  });
});
