import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { JobHandedBackError } from '../../src/domain/errors.js';
import type { JobQueue, WriteJob } from '../../src/ports/job-queue.js';
import type { RetryOptions } from '../../src/adapters/queue-retry-policy.js';

/** Builds a queue of its own (a fresh namespace) for one test. */
export type JobQueueFactory = (options: { retry?: RetryOptions }) => Promise<JobQueue>;

const job = (...taskIds: string[]): WriteJob => ({ taskIds });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** The behaviour every JobQueue must show, whatever carries the jobs. */
export function describeJobQueueContract(implementation: string, createQueue: JobQueueFactory): void {
  describe(`JobQueue contract: ${implementation}`, () => {
    const opened: JobQueue[] = [];
    const open = async (options: { retry?: RetryOptions } = {}): Promise<JobQueue> => {
      const queue = await createQueue(options);
      opened.push(queue);
      return queue;
    };
    after(async () => {
      await Promise.all(opened.map((queue) => queue.close()));
    });

    it('hands every enqueued job to the handler exactly once', async () => {
      const queue = await open();
      const seen: string[] = [];
      queue.consume(async (received) => void seen.push(...received.taskIds), { concurrency: 4 });
      const ids = Array.from({ length: 20 }, (_, index) => `task-${index}`);
      await queue.enqueue(ids.slice(0, 10).map((id) => job(id)));
      await queue.enqueue(ids.slice(10).map((id) => job(id)));
      await eventually(() => seen.length >= ids.length, 'every job is handled');
      await sleep(200);
      assert.deepEqual([...seen].sort(), [...ids].sort());
    });

    it('passes every task id of a job to the handler together', async () => {
      const queue = await open();
      const received: WriteJob[] = [];
      queue.consume(async (one) => void received.push(one), { concurrency: 1 });
      await queue.enqueue([job('a', 'b', 'c')]);
      await eventually(() => received.length === 1, 'the job is handled');
      assert.deepEqual(received[0]?.taskIds, ['a', 'b', 'c']);
    });

    it('tries a failing job again with growing delays until the handler succeeds', async () => {
      const queue = await open({ retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 } });
      const startedAt: number[] = [];
      queue.consume(
        async () => {
          startedAt.push(Date.now());
          if (startedAt.length < 3) throw new Error('temporarily unavailable');
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('flaky')]);
      await eventually(() => startedAt.length === 3, 'the third attempt runs');
      await eventually(async () => (await queue.depth()) === 0, 'the job leaves the queue');
      const [first = 0, second = 0, third = 0] = startedAt;
      assert.ok(second - first >= 90, `first retry waited ${second - first} ms`);
      assert.ok(third - second >= 190, `second retry waited ${third - second} ms`);
      await sleep(300);
      assert.equal(startedAt.length, 3);
    });

    it('drops a job after its last attempt', async () => {
      const queue = await open({ retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 40 } });
      let attempts = 0;
      queue.consume(
        async () => {
          attempts += 1;
          throw new Error('always failing');
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('doomed')]);
      await eventually(() => attempts === 3, 'the last attempt runs');
      await eventually(async () => (await queue.depth()) === 0, 'the job leaves the queue');
      await sleep(300);
      assert.equal(attempts, 3);
    });

    it('accepts the same task again once its job failed for good', async () => {
      const queue = await open({ retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 } });
      let attempts = 0;
      queue.consume(
        async () => {
          attempts += 1;
          if (attempts === 1) throw new Error('first run fails');
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('recovered')]);
      await eventually(async () => attempts === 1 && (await queue.depth()) === 0, 'the first job is dropped');
      await queue.enqueue([job('recovered')]);
      await eventually(() => attempts === 2, 'the re-enqueued job is handled');
    });

    it('never runs more jobs at once than the concurrency', async () => {
      const queue = await open();
      let running = 0;
      let peak = 0;
      let done = 0;
      queue.consume(
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(60);
          running -= 1;
          done += 1;
        },
        { concurrency: 3 },
      );
      await queue.enqueue(Array.from({ length: 12 }, (_, index) => job(`parallel-${index}`)));
      await eventually(() => done === 12, 'every job is handled');
      assert.ok(peak <= 3, `${peak} jobs ran at once`);
      assert.ok(peak >= 2, `jobs never ran in parallel (peak ${peak})`);
    });

    it('ignores a second enqueue of a job that is still waiting', async () => {
      const queue = await open();
      await queue.enqueue([job('same', 'other')]);
      await queue.enqueue([job('same', 'other'), job('same')]);
      assert.equal(await queue.depth(), 1);
      let handled = 0;
      queue.consume(async () => void (handled += 1), { concurrency: 2 });
      await eventually(async () => (await queue.depth()) === 0, 'the job is handled');
      await sleep(200);
      assert.equal(handled, 1);
    });

    it('counts waiting jobs in its depth, and none once they are handled', async () => {
      const queue = await open();
      assert.equal(await queue.depth(), 0);
      await queue.enqueue([job('d1'), job('d2'), job('d3')]);
      assert.equal(await queue.depth(), 3);
      queue.consume(async () => undefined, { concurrency: 3 });
      await eventually(async () => (await queue.depth()) === 0, 'the queue is empty');
    });

    it('counts a running job in its depth', async () => {
      const queue = await open();
      let release = (): void => undefined;
      const started = new Promise<void>((resolve) => {
        queue.consume(
          () =>
            new Promise<void>((done) => {
              release = done;
              resolve();
            }),
          { concurrency: 1 },
        );
      });
      await queue.enqueue([job('slow')]);
      await started;
      assert.equal(await queue.depth(), 1);
      release();
      await eventually(async () => (await queue.depth()) === 0, 'the job finishes');
    });

    it('waits for the jobs in flight when a consumer closes, and may close twice', async () => {
      const queue = await open();
      let finished = false;
      let markStarted = (): void => undefined;
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      const consumer = queue.consume(
        async () => {
          markStarted();
          await sleep(300);
          finished = true;
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('in-flight')]);
      await started;
      await consumer.close();
      assert.equal(finished, true);
      await consumer.close();
    });

    it('hands a job its consumer answers JobHandedBackError to another consumer, with no attempt counted', async () => {
      // One attempt in all: a hand-back counted as a failure would drop the job.
      const queue = await open({ retry: { attempts: 1, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
      let markTaken = (): void => undefined;
      const taken = new Promise<void>((resolve) => (markTaken = resolve));
      let handBack = (): void => undefined;
      const stopping = new Promise<void>((resolve) => (handBack = resolve));
      const first = queue.consume(
        async () => {
          markTaken();
          await stopping;
          throw new JobHandedBackError();
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('held')]);
      await taken;
      const closed = first.close();
      handBack();
      await closed;
      const seen: string[] = [];
      queue.consume(async (received) => void seen.push(...received.taskIds), { concurrency: 1 });
      await eventually(() => seen.length === 1, 'another consumer runs the job handed back');
      assert.deepEqual(seen, ['held']);
      await eventually(async () => (await queue.depth()) === 0, 'the job leaves the queue');
    });

    it('takes no more jobs after its consumer closed', async () => {
      const queue = await open();
      let handled = 0;
      const consumer = queue.consume(async () => void (handled += 1), { concurrency: 1 });
      await consumer.close();
      await queue.enqueue([job('late')]);
      await sleep(300);
      assert.equal(handled, 0);
      assert.equal(await queue.depth(), 1);
    });

    it('closes its consumers when it closes, and may close twice', async () => {
      const queue = await createQueue({});
      let finished = false;
      let markStarted = (): void => undefined;
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      queue.consume(
        async () => {
          markStarted();
          await sleep(200);
          finished = true;
        },
        { concurrency: 1 },
      );
      await queue.enqueue([job('last')]);
      await started;
      await queue.close();
      assert.equal(finished, true);
      await queue.close();
    });

    it('answers a ping', async () => {
      const queue = await open();
      await queue.ping();
      assert.equal(await queue.depth(), 0);
    });
  });
}
