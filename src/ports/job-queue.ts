/** A unit of work for the worker: the ids of durable write tasks to process together. */
export interface WriteJob {
  readonly taskIds: readonly string[];
}

/**
 * Processes one job. Throwing means "try again later" (with backoff); a permanent failure is the
 * handler's decision to record, after which it returns normally.
 */
export type WriteJobHandler = (job: WriteJob) => Promise<void>;

export interface ConsumeOptions {
  /** Jobs processed at the same time by this consumer. */
  readonly concurrency: number;
}

export interface JobConsumer {
  /** Stops taking jobs and waits for the ones in flight. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Carries task ids from the API to the workers. It is a wake-up signal, not the record: tasks live
 * in the metadata store, so a queue that loses its data loses no write.
 */
export interface JobQueue {
  enqueue(jobs: readonly WriteJob[]): Promise<void>;
  consume(handler: WriteJobHandler, options: ConsumeOptions): JobConsumer;
  /** Jobs waiting or running, for back-pressure and readiness. */
  depth(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
