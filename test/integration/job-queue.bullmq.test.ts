import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createBullmqJobQueue, type BullmqJobQueueOptions } from '../../src/adapters/bullmq/bullmq-job-queue.js';
import { parseRedisUrl } from '../../src/adapters/bullmq/redis-url.js';
import { DependencyUnavailableError, JobHandedBackError, ValidationError } from '../../src/domain/errors.js';
import type { JobConsumer, JobQueue } from '../../src/ports/job-queue.js';
import { describeJobQueueContract } from '../contracts/job-queue.contract.js';
import { silentLogger } from '../support/logger.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

async function rejectsUnavailableWithin(ms: number, call: () => Promise<unknown>): Promise<void> {
  const startedAt = Date.now();
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof DependencyUnavailableError, `got ${String(error)}`);
    assert.equal(error.code, 'dependency_unavailable');
    assert.equal(error.dependency, 'redis');
    return true;
  });
  const elapsed = Date.now() - startedAt;
  assert.ok(elapsed < ms, `took ${elapsed} ms`);
}

/** A logger of warnings and worse, and the lines it wrote. */
function warnings(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

const redis = await startTestRedis();
after(() => redis.stop());

const opened: JobQueue[] = [];
after(async () => {
  await Promise.all(opened.map((queue) => queue.close()));
});
function openQueue(options: Partial<BullmqJobQueueOptions> = {}): JobQueue {
  const queue = createBullmqJobQueue({ redisUrl: redis.url, queueName: randomUUID(), logger: silentLogger(), ...options });
  opened.push(queue);
  return queue;
}

describeJobQueueContract('BullMQ on Redis', async ({ retry }) => {
  const queue = createBullmqJobQueue({ redisUrl: redis.url, queueName: randomUUID(), logger: silentLogger(), retry });
  await eventually(async () => (await queue.ping(), true), 'redis answers');
  return queue;
});

describe('BullMQ job queue', () => {
  it('logs in with the password of the URL', async () => {
    const queue = openQueue();
    await eventually(async () => (await queue.ping(), true), 'redis answers');
  });

  it('reports Redis unavailable quickly when the password is wrong', async () => {
    const wrong = new URL(redis.url);
    wrong.password = 'not-the-password';
    const queue = openQueue({ redisUrl: wrong.toString() });
    await sleep(300);
    await rejectsUnavailableWithin(2_500, () => queue.ping());
    await rejectsUnavailableWithin(2_500, () => queue.enqueue([{ taskIds: [randomUUID()] }]));
    await rejectsUnavailableWithin(2_500, () => queue.depth());
  });

  it('reports Redis unavailable quickly when nothing listens at the address', async () => {
    const queue = openQueue({ redisUrl: 'redis://:secret@127.0.0.1:1' });
    await rejectsUnavailableWithin(2_500, () => queue.enqueue([{ taskIds: [randomUUID()] }]));
    await rejectsUnavailableWithin(2_500, () => queue.ping());
  });

  it('logs a warning naming the tasks of a job it drops after the last attempt', async () => {
    const { logger, lines } = warnings();
    const queue = openQueue({ logger, retry: { attempts: 2, baseDelayMs: 10 } });
    queue.consume(
      async () => {
        throw new Error('always failing');
      },
      { concurrency: 1 },
    );
    const taskId = randomUUID();
    await queue.enqueue([{ taskIds: [taskId] }]);
    await eventually(() => lines.some((line) => line.includes('dropped')), 'the drop is logged');
    const entry = JSON.parse(lines.find((line) => line.includes('dropped')) ?? '{}') as Record<string, unknown>;
    assert.deepEqual(entry['taskIds'], [taskId]);
    assert.equal(entry['attempts'], 2);
    assert.equal(await queue.depth(), 0);
  });

  it('closes without waiting for a job whose outcome Redis refused, its lock lost', async () => {
    const { logger, lines } = warnings();
    const queueName = randomUUID();
    const queue = openQueue({ queueName, logger, closeTimeoutMs: 3_000 });
    const client = new Redis(redis.url);
    try {
      let handled = false;
      const consumer = queue.consume(
        async () => {
          // As when the lock expired while Redis was slow: the job is no longer this worker's.
          const locks = await client.keys(`engram:${queueName}:*:lock`);
          assert.equal(locks.length, 1);
          await client.del(...locks);
          handled = true;
        },
        { concurrency: 1 },
      );
      await queue.enqueue([{ taskIds: ['lockless'] }]);
      await eventually(() => handled, 'the job is handled');
      await consumer.close();
      assert.deepEqual(
        lines.filter((line) => line.includes('recorded')),
        [],
        'closing waited for an outcome Redis had already refused',
      );
    } finally {
      client.disconnect();
    }
  });

  it('gives the job of a killed worker to another worker', async () => {
    const queueName = randomUUID();
    const settings = { queueName, lockDurationMs: 1_000, stalledIntervalMs: 500 };
    const producer = openQueue(settings);
    await producer.enqueue([{ taskIds: ['orphaned'] }]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/fixtures/stuck-bullmq-worker.ts'], {
      env: { ...process.env, REDIS_URL: redis.url, QUEUE_NAME: queueName },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('started'), 'the doomed worker takes the job', 15_000);
    child.kill('SIGKILL');
    await exited;

    const handled: string[] = [];
    producer.consume(async (job) => void handled.push(...job.taskIds), { concurrency: 1 });
    await eventually(() => handled.length > 0, 'another worker handles the job');
    assert.deepEqual(handled, ['orphaned']);
  });

  describe('when Redis goes away', () => {
    let outage: TestRedis;
    before(async () => {
      outage = await startTestRedis();
    });
    after(() => outage.stop());

    /** A queue on the Redis that goes away, which gives up on it 500 ms into a close. */
    async function quickClosingQueue(): Promise<JobQueue> {
      const queue = createBullmqJobQueue({ redisUrl: outage.url, queueName: randomUUID(), logger: silentLogger(), closeTimeoutMs: 500 });
      await eventually(async () => (await queue.ping(), true), 'redis answers');
      return queue;
    }

    it('fails an enqueue fast while Redis is down and works again once it is back', async () => {
      const queue = createBullmqJobQueue({ redisUrl: outage.url, queueName: randomUUID(), logger: silentLogger() });
      await eventually(async () => (await queue.ping(), true), 'redis answers');
      await outage.stop();
      await rejectsUnavailableWithin(2_500, () => queue.enqueue([{ taskIds: [randomUUID()] }]));
      await rejectsUnavailableWithin(2_500, () => queue.ping());
      await outage.restartEmpty();
      await eventually(async () => (await queue.enqueue([{ taskIds: ['after-outage'] }]), true), 'enqueue works again');
      assert.equal(await queue.depth(), 1);
      await queue.close();
    });

    it('keeps consuming with the same consumer after Redis restarts empty', async () => {
      const queue = createBullmqJobQueue({ redisUrl: outage.url, queueName: randomUUID(), logger: silentLogger() });
      await eventually(async () => (await queue.ping(), true), 'redis answers');
      const handled: string[] = [];
      queue.consume(async (job) => void handled.push(...job.taskIds), { concurrency: 2 });
      await queue.enqueue([{ taskIds: ['before-restart'] }]);
      await eventually(() => handled.includes('before-restart'), 'the first job is handled');
      await outage.restartEmpty();
      await eventually(async () => (await queue.enqueue([{ taskIds: ['after-restart'] }]), true), 'enqueue works again');
      await eventually(() => handled.includes('after-restart'), 'the job enqueued after the restart is handled', 15_000);
      await queue.close();
    });

    it('closes a consumer in bounded time while Redis is down', async () => {
      const queue = await quickClosingQueue();
      const consumer = queue.consume(async () => undefined, { concurrency: 1 });
      await sleep(200);
      await outage.stop();
      const startedAt = Date.now();
      await consumer.close();
      await queue.close();
      assert.ok(Date.now() - startedAt < 3_000, `closing took ${Date.now() - startedAt} ms`);
      await outage.restartEmpty();
    });

    it('closes in bounded time while Redis is down when a running job is handed back', async () => {
      const queue = await quickClosingQueue();
      let handBack: () => void = () => undefined;
      let consumer: JobConsumer | undefined;
      const started = new Promise<void>((resolve) => {
        const handler = (): Promise<void> =>
          new Promise<void>((_, reject) => {
            handBack = () => reject(new JobHandedBackError());
            resolve();
          });
        consumer = queue.consume(handler, { concurrency: 1 });
      });
      await queue.enqueue([{ taskIds: ['handed-back'] }]);
      await started;
      await outage.stop();
      const startedAt = Date.now();
      const closing = consumer?.close();
      handBack();
      const closed = await Promise.race([closing?.then(() => true), sleep(5_000).then(() => false)]);
      const tookMs = Date.now() - startedAt;
      await outage.restartEmpty();
      await closing;
      await queue.close();
      assert.ok(closed === true && tookMs < 3_000, `closing took ${tookMs} ms`);
    });
  });
});

describe('Redis URL', () => {
  it('reads host, port, password and database', () => {
    assert.deepEqual(parseRedisUrl('redis://:s%40cret@cache.internal:6380/2'), {
      host: 'cache.internal',
      port: 6380,
      db: 2,
      password: 's@cret',
    });
  });

  it('turns on TLS for rediss://', () => {
    const endpoint = parseRedisUrl('rediss://user:pw@cache.example:6379');
    assert.deepEqual(endpoint.tls, { servername: 'cache.example' });
    assert.equal(endpoint.username, 'user');
  });

  it('refuses a Redis without a password', () => {
    assert.throws(
      () => parseRedisUrl('redis://cache.internal:6379'),
      (error: unknown) => error instanceof ValidationError && /names no password/.test(error.message),
    );
  });

  it('rejects another scheme without repeating the password', () => {
    assert.throws(
      () => parseRedisUrl('http://:hunter2@cache:6379'),
      (error: unknown) => error instanceof ValidationError && !error.message.includes('hunter2'),
    );
  });
});
