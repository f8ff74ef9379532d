import { WaitingError, Worker, type Job } from 'bullmq';
import { JobHandedBackError } from '../../domain/errors.js';
import type { JobConsumer, WriteJobHandler } from '../../ports/job-queue.js';
import type { Logger } from '../../ports/logger.js';
import { backoffDelayMs, type RetryPolicy } from '../queue-retry-policy.js';
import { isConnectionError, reconnectDelayMs } from './connection-errors.js';
import { fromPayload, type WriteJobPayload } from './job-payload.js';
import { OutageLog } from './outage-log.js';
import type { RedisEndpoint } from './redis-url.js';

export interface BullmqConsumerSettings {
  readonly queueName: string;
  readonly prefix: string;
  readonly endpoint: RedisEndpoint;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly closeTimeoutMs: number;
}

/**
 * A BullMQ worker that keeps each job's processing while it lasts: from the handler's start until
 * Redis has recorded the outcome, or refused it (a job whose lock was lost meanwhile is no longer
 * this worker's, and BullMQ then reports neither completion nor failure).
 */
class SettlingWorker extends Worker<WriteJobPayload> {
  readonly processing = new Set<Promise<unknown>>();

  override processJob(...args: Parameters<Worker<WriteJobPayload>['processJob']>): ReturnType<Worker<WriteJobPayload>['processJob']> {
    const processed = super.processJob(...args);
    const settled = processed.then(
      () => undefined,
      () => undefined,
    );
    this.processing.add(settled);
    void settled.then(() => this.processing.delete(settled));
    return processed;
  }
}

/** A BullMQ worker on its own Redis connections, running one handler. */
export class BullmqConsumer implements JobConsumer {
  private readonly worker: SettlingWorker;
  private readonly logger: Logger;
  /** Handler runs not finished yet. */
  private readonly running = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly handler: WriteJobHandler,
    private readonly settings: BullmqConsumerSettings,
  ) {
    this.logger = settings.logger;
    const outage = new OutageLog(settings.logger, 'consumer');
    this.worker = new SettlingWorker(settings.queueName, (job, token) => this.process(job, token), {
      connection: {
        ...settings.endpoint,
        // A worker waits out any outage: commands stay queued until Redis is back.
        maxRetriesPerRequest: null,
        retryStrategy: reconnectDelayMs,
      },
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      // After a failed fetch BullMQ waits this long; its 15 s default would delay recovery from a Redis restart.
      runRetryDelay: 1_000,
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelayMs(settings.retry, attemptsMade) },
      // Started below, once this subclass is whole.
      autorun: false,
    });
    this.worker.on('error', (error) => {
      if (isConnectionError(error)) outage.failed(error);
      else this.logger.error({ err: error }, 'job queue consumer error');
    });
    this.worker.getBackend().on('ready', () => outage.recovered());
    this.worker.on('failed', (job, error) => {
      if (job === undefined) return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
        this.logger.warn(
          { taskIds: fromPayload(job.data).taskIds, attempts: job.attemptsMade, reason: error.message },
          'write job dropped after its last attempt; its tasks stay pending for recovery',
        );
      }
    });
    this.worker.run().catch((error: unknown) => this.logger.error({ err: error }, 'job queue consumer stopped'));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async process(job: Job<WriteJobPayload>, token: string | undefined): Promise<void> {
    if (this.closing !== null) {
      // A fetch that was already waiting when close began: hand the job back for another worker.
      if (token !== undefined) await job.moveToWait(token);
      throw new WaitingError();
    }
    // Only the handler's run is waited for at close: what Redis is told of it after is bounded.
    const handled = this.handler(fromPayload(job.data));
    const settled = handled.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    try {
      await handled;
    } catch (error) {
      if (!(error instanceof JobHandedBackError) || token === undefined) throw error;
      // Back to the waiting list as it was, for another worker at once: not a failed attempt.
      // During an outage this waits for Redis; a close gives up on it after closeTimeoutMs, and
      // the job, its lock expired, is taken again as stalled.
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  /**
   * Stops fetching, lets every running handler finish and Redis record its outcome, then drops
   * the connections. BullMQ's own graceful close waits for Redis without bound, so the last step
   * is a forced one once nothing is left to record (or after `closeTimeoutMs` during an outage,
   * a job handed back included).
   */
  private async shutdown(): Promise<void> {
    await this.worker.pause(true);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.closeTimeoutMs)));
    await Promise.race([Promise.all([...this.worker.processing]), deadline]);
    clearTimeout(timer);
    if (this.worker.processing.size > 0) {
      this.logger.warn(
        { jobs: this.worker.processing.size },
        'closing before redis recorded every finished job; they run again once their lock expires',
      );
    }
    await this.worker.close(true);
  }
}
