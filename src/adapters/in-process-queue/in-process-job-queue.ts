import { DomainError, JobHandedBackError } from '../../domain/errors.js';
import type { ConsumeOptions, JobConsumer, JobQueue, WriteJob, WriteJobHandler } from '../../ports/job-queue.js';
import type { Logger } from '../../ports/logger.js';
import { backoffDelayMs, resolveRetryPolicy, type RetryOptions, type RetryPolicy } from '../queue-retry-policy.js';

export interface InProcessJobQueueOptions {
  readonly logger: Logger;
  /** Backoff of a job whose handler threw. Defaults: 20 attempts, 500 ms doubling up to 30 s. */
  readonly retry?: RetryOptions;
}

interface QueuedJob {
  /** The first task id: a task belongs to one job when created, so it names the job. */
  readonly id: string;
  readonly job: WriteJob;
  failedAttempts: number;
}

interface Consumer {
  readonly handler: WriteJobHandler;
  readonly concurrency: number;
  readonly running: Set<Promise<void>>;
  closing: Promise<void> | null;
}

/**
 * The embedded mode's queue: a FIFO in this process's memory. Losing it on exit loses no write,
 * since tasks live in the metadata store and recovery enqueues pending ones again.
 */
export function createInProcessJobQueue(options: InProcessJobQueueOptions): JobQueue {
  return new InProcessJobQueue(options.logger, resolveRetryPolicy(options.retry));
}

class InProcessJobQueue implements JobQueue {
  private readonly waiting: QueuedJob[] = [];
  private readonly delayed = new Map<QueuedJob, NodeJS.Timeout>();
  private readonly active = new Set<QueuedJob>();
  /** Ids of jobs waiting, delayed or running: enqueuing one of them again changes nothing. */
  private readonly known = new Set<string>();
  private readonly consumers: Consumer[] = [];
  /** Where the next dispatch starts looking, so consumers share the work in turn. */
  private nextConsumer = 0;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly retry: RetryPolicy,
  ) {}

  async enqueue(jobs: readonly WriteJob[]): Promise<void> {
    this.assertOpen();
    for (const job of jobs) {
      const id = job.taskIds[0];
      if (id === undefined || this.known.has(id)) continue;
      this.known.add(id);
      this.waiting.push({ id, job: { taskIds: [...job.taskIds] }, failedAttempts: 0 });
    }
    this.dispatch();
  }

  consume(handler: WriteJobHandler, options: ConsumeOptions): JobConsumer {
    this.assertOpen();
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new DomainError('invalid_input', 'invalid_concurrency', 'concurrency must be an integer of at least 1');
    }
    const consumer: Consumer = { handler, concurrency: options.concurrency, running: new Set(), closing: null };
    this.consumers.push(consumer);
    queueMicrotask(() => this.dispatch());
    return { close: () => this.closeConsumer(consumer) };
  }

  async depth(): Promise<number> {
    return this.waiting.length + this.delayed.size + this.active.size;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => this.closeConsumer(consumer)));
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.waiting.length = 0;
    this.known.clear();
  }

  private closeConsumer(consumer: Consumer): Promise<void> {
    consumer.closing ??= (async () => {
      const index = this.consumers.indexOf(consumer);
      if (index >= 0) this.consumers.splice(index, 1);
      // Jobs started during the wait are added to `running`, so loop until it stays empty.
      while (consumer.running.size > 0) await Promise.allSettled([...consumer.running]);
    })();
    return consumer.closing;
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const consumer = this.consumerWithRoom();
      const queued = consumer === undefined ? undefined : this.waiting.shift();
      if (consumer === undefined || queued === undefined) return;
      this.run(consumer, queued);
    }
  }

  private consumerWithRoom(): Consumer | undefined {
    for (let offset = 0; offset < this.consumers.length; offset += 1) {
      const index = (this.nextConsumer + offset) % this.consumers.length;
      const consumer = this.consumers[index];
      if (consumer !== undefined && consumer.closing === null && consumer.running.size < consumer.concurrency) {
        this.nextConsumer = index + 1;
        return consumer;
      }
    }
    return undefined;
  }

  private run(consumer: Consumer, queued: QueuedJob): void {
    this.active.add(queued);
    const running = (async () => {
      try {
        await consumer.handler(queued.job);
        this.forget(queued);
      } catch (error) {
        // Not started by a consumer that stops: first in line for another, no attempt counted.
        if (error instanceof JobHandedBackError) this.waiting.unshift(queued);
        else this.retryLater(queued, error);
      } finally {
        this.active.delete(queued);
      }
    })();
    consumer.running.add(running);
    void running.finally(() => {
      consumer.running.delete(running);
      this.dispatch();
    });
  }

  private retryLater(queued: QueuedJob, error: unknown): void {
    queued.failedAttempts += 1;
    if (this.closing !== null) {
      this.forget(queued);
      return;
    }
    if (queued.failedAttempts >= this.retry.attempts) {
      this.forget(queued);
      this.logger.warn(
        { taskIds: queued.job.taskIds, attempts: queued.failedAttempts, err: error },
        'write job dropped after its last attempt; its tasks stay pending for recovery',
      );
      return;
    }
    const delayMs = backoffDelayMs(this.retry, queued.failedAttempts);
    this.logger.debug({ taskIds: queued.job.taskIds, attempt: queued.failedAttempts, delayMs, err: error }, 'write job will be retried');
    const timer = setTimeout(() => {
      this.delayed.delete(queued);
      this.waiting.push(queued);
      this.dispatch();
    }, delayMs);
    // A pending retry alone must not keep the process alive; its task stays pending in the store.
    timer.unref();
    this.delayed.set(queued, timer);
  }

  private forget(queued: QueuedJob): void {
    this.known.delete(queued.id);
  }

  private assertOpen(): void {
    if (this.closing !== null) {
      throw new DomainError('internal', 'queue_closed', 'the job queue is closed');
    }
  }
}
