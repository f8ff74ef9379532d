import { once } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DependencyUnavailableError, DomainError } from '../../domain/errors.js';
import type { ConsumeOptions, JobConsumer, JobQueue, WriteJob, WriteJobHandler } from '../../ports/job-queue.js';
import type { Logger } from '../../ports/logger.js';
import { resolveRetryPolicy, type RetryOptions, type RetryPolicy } from '../queue-retry-policy.js';
import { BullmqConsumer } from './bullmq-consumer.js';
import { reconnectDelayMs } from './connection-errors.js';
import { dedupeIdOf, toPayload, WRITE_JOB_NAME, type WriteJobPayload } from './job-payload.js';
import { OutageLog } from './outage-log.js';
import { parseRedisUrl, type RedisEndpoint } from './redis-url.js';

export interface BullmqJobQueueOptions {
  /** `redis://[user]:password@host:port[/db]`, or `rediss://` for TLS. Never logged. */
  readonly redisUrl: string;
  /** BullMQ queue name (no `:`). Default `engram-writes`. */
  readonly queueName?: string;
  /** Prefix of every Redis key of the queue. Default `engram`. */
  readonly prefix?: string;
  readonly logger: Logger;
  /** Backoff of a job whose handler threw. Defaults: 20 attempts, 500 ms doubling up to 30 s. */
  readonly retry?: RetryOptions;
  /**
   * How long a running job's lock lasts without renewal. A worker that dies mid-job loses its
   * lock after at most this long; the job is then handed to another worker at the next stalled
   * check. Default 15 000 ms (with the default interval, a killed worker's job moves on within ~25 s).
   */
  readonly lockDurationMs?: number;
  /** Interval of the stalled-job check that gives dead workers' jobs to live ones. Default 10 000 ms. */
  readonly stalledIntervalMs?: number;
  /** Longest wait of `enqueue`, `depth` and `ping` for Redis before they report it unavailable. Default 2 000 ms. */
  readonly commandTimeoutMs?: number;
  /** Failed jobs kept in Redis for inspection; older ones are removed. Default 1 000. */
  readonly failedJobsKept?: number;
  /**
   * How long a closing consumer waits, after its handlers finished, for Redis to record their
   * outcome (it only waits this long during an outage). Default 5 000 ms.
   */
  readonly closeTimeoutMs?: number;
}

const BACKOFF_TYPE = 'engram-capped-exponential';

/** The distributed mode's queue: BullMQ over a password-protected Redis. */
export function createBullmqJobQueue(options: BullmqJobQueueOptions): JobQueue {
  return new BullmqJobQueue(options);
}

class BullmqJobQueue implements JobQueue {
  private readonly endpoint: RedisEndpoint;
  private readonly queueName: string;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly retry: RetryPolicy;
  private readonly commandTimeoutMs: number;
  private readonly producer: Redis;
  private queue: Queue<WriteJobPayload>;
  private readonly consumers = new Set<BullmqConsumer>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: BullmqJobQueueOptions) {
    this.endpoint = parseRedisUrl(options.redisUrl);
    this.queueName = options.queueName ?? 'engram-writes';
    this.prefix = options.prefix ?? 'engram';
    this.logger = options.logger;
    this.retry = resolveRetryPolicy(options.retry);
    this.commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
    const outage = new OutageLog(this.logger, 'producer');
    this.producer = new Redis({
      ...this.endpoint,
      // The API answers 503 at once rather than buffering writes while Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.commandTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      retryStrategy: reconnectDelayMs,
    });
    this.producer.on('error', (error: Error) => outage.failed(error));
    this.producer.on('ready', () => outage.recovered());
    this.queue = this.openQueue();
  }

  async enqueue(jobs: readonly WriteJob[]): Promise<void> {
    this.assertOpen();
    const failedJobsKept = this.options.failedJobsKept ?? 1_000;
    const entries = jobs.flatMap((job) => {
      const dedupeId = dedupeIdOf(job);
      if (dedupeId === undefined) return [];
      return [
        {
          name: WRITE_JOB_NAME,
          data: toPayload(job),
          opts: {
            // Deduplication, unlike a fixed job id, lets recovery enqueue a task again once its
            // previous job failed for good, while that failed job is still kept for inspection.
            deduplication: { id: dedupeId },
            attempts: this.retry.attempts,
            backoff: { type: BACKOFF_TYPE },
            removeOnComplete: true,
            removeOnFail: { count: failedJobsKept },
          },
        },
      ];
    });
    if (entries.length === 0) return;
    await this.withRedis(async () => {
      const queue = this.queue;
      try {
        await queue.addBulk(entries);
      } catch (error) {
        this.reopenQueueIfStuck(queue);
        throw error;
      }
    });
  }

  consume(handler: WriteJobHandler, options: ConsumeOptions): JobConsumer {
    this.assertOpen();
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new DomainError('invalid_input', 'invalid_concurrency', 'concurrency must be an integer of at least 1');
    }
    const consumer = new BullmqConsumer(handler, {
      queueName: this.queueName,
      prefix: this.prefix,
      endpoint: this.endpoint,
      logger: this.logger,
      retry: this.retry,
      concurrency: options.concurrency,
      lockDurationMs: this.options.lockDurationMs ?? 15_000,
      stalledIntervalMs: this.options.stalledIntervalMs ?? 10_000,
      closeTimeoutMs: this.options.closeTimeoutMs ?? 5_000,
    });
    this.consumers.add(consumer);
    return {
      close: async () => {
        await consumer.close();
        this.consumers.delete(consumer);
      },
    };
  }

  async depth(): Promise<number> {
    this.assertOpen();
    return this.withRedis(() => this.queue.getJobCountByTypes('waiting', 'active', 'delayed'));
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.withRedis(() => this.producer.ping());
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    this.consumers.clear();
    // The queue shares the producer connection, so closing it leaves the connection to us.
    await this.queue.close().catch(() => undefined);
    this.producer.disconnect();
  }

  private openQueue(): Queue<WriteJobPayload> {
    const queue = new Queue<WriteJobPayload>(this.queueName, { connection: this.producer, prefix: this.prefix });
    // Connection errors are the producer's to report; without a listener they would crash the process.
    queue.on('error', (error) => this.logger.debug({ reason: error.message }, 'job queue producer error'));
    return queue;
  }

  /**
   * BullMQ sets a queue up once, on its first connection; if Redis drops during that setup the
   * queue stays broken. A failure seen while the connection is up is the sign: start afresh.
   */
  private reopenQueueIfStuck(queue: Queue<WriteJobPayload>): void {
    if (this.producer.status !== 'ready' || queue !== this.queue || this.closing !== null) return;
    this.queue = this.openQueue();
    void queue.close().catch(() => undefined);
  }

  /**
   * Runs a Redis call within `commandTimeoutMs`, reporting any failure as Redis unavailable. A
   * connection still being made (at start, or just after a blip) gets that long to come up; one
   * failing to connect fails the call at once.
   */
  private async withRedis<T>(call: () => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis did not answer in time')), this.commandTimeoutMs);
    });
    const ready =
      this.producer.status === 'ready' ? Promise.resolve() : once(this.producer, 'ready', { signal: abort.signal });
    try {
      return await Promise.race([ready.then(call), timeout]);
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  private assertOpen(): void {
    if (this.closing !== null) {
      throw new DomainError('internal', 'queue_closed', 'the job queue is closed');
    }
  }
}
