import type { JobConsumer, JobQueue } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { WriteProcessor } from '../services/process-writes.js';
import type { WriteRecovery } from '../services/recover-writes.js';
import { JobCoalescer } from './job-coalescer.js';

/**
 * Tasks processed together at most. Each run costs a vector-store request per collection it
 * touches, whatever the records: under a backlog spread over many users, runs of 64 put about 4
 * records in each of 16 buckets' upserts. Larger runs load faster, but right after such a
 * load Chroma's upserts stay slow for some seconds, up to seconds per run. 10,000 memories of
 * 1,000 users, then 50 single writes/s (`npm run bench -- --scale 10k`): runs of 64 loaded 153/s,
 * 202 to searchable p95 0.5 s; 128: 251-260/s, 0.45-0.53 s; 256: 261-277/s, 1.2 s; 512: 359/s,
 * 3.8 s. Under a steady stream a run takes only what waits, so this bounds a backlog's runs, not a
 * write's delay.
 */
const TASKS_PER_RUN = 128;
/**
 * Jobs held per run slot. A job of a single write is one task, so too few would cap runs far
 * below TASKS_PER_RUN whatever the backlog: with 16, a soak at 100 single writes/s ran four runs
 * of ~16 tasks, each an upsert of ~2 records per Chroma collection, and fell behind by a third.
 * Each held job is a job lock on the queue's side; batched writes hold up to 32 tasks per job.
 */
const JOBS_TAKEN_PER_RUN = 64;
/**
 * How long single writes may wait beside a busy run for others to join them. Each run costs a
 * vector-store request per collection it touches (about 6 ms of Chroma's time alone, far more
 * when requests queue, whatever the records), so under a steady stream the runs follow one
 * another and fill up, rather than cut the stream into small runs side by side.
 */
const RUN_LINGER_MS = 1_000;
/**
 * Least time between the starts of two runs that are not full. A write after a quiet spell runs at
 * once; under a steady stream, runs that took only what arrived while the last one was busy
 * (a few tens of ms) held two or three writes, each run paying Chroma an add and a read per
 * bucket. Distributed, 100k memories of 1,000 users, 50 single writes/s for 18 s (scratch runs,
 * alternated): Chroma's CPU 7.3-7.8 s without spacing, 3.6-4.2 s at 200 ms and 2.5-3.0 s at 500 ms;
 * the worker's 5.7-6.5, 3.5-4.7 and 3.3-3.9 s; a write's 202 to completed p50 68-93 ms, 205-227
 * and 396-465.
 */
const RUN_SPACING_MS = 200;

export interface WriteWorkerDeps {
  readonly queue: JobQueue;
  readonly processor: WriteProcessor;
  readonly recovery: WriteRecovery;
  readonly logger: Logger;
  /** Runs (of one or more merged jobs) processed at once. */
  readonly concurrency: number;
}

/**
 * Consumes write jobs and keeps recovery running. `close()` stops taking jobs, lets the runs under
 * way finish, hands the jobs not started back to the queue, and is safe to call twice.
 */
export class WriteWorker {
  private consumer: JobConsumer | null = null;
  private coalescer: JobCoalescer | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: WriteWorkerDeps) {}

  /** Starts consuming; `recoverPendingNow` re-drives every pending write at once (embedded boot). */
  async start(options: { readonly recoverPendingNow: boolean }): Promise<void> {
    const coalescer = (this.coalescer = new JobCoalescer({
      run: (job) => this.deps.processor.process(job),
      maxTasks: TASKS_PER_RUN,
      concurrency: this.deps.concurrency,
      lingerMs: RUN_LINGER_MS,
      spacingMs: RUN_SPACING_MS,
    }));
    // More jobs are taken than run at once, so that small ones wait together and merge.
    this.consumer = this.deps.queue.consume((job) => coalescer.process(job), {
      concurrency: this.deps.concurrency * JOBS_TAKEN_PER_RUN,
    });
    if (options.recoverPendingNow) await this.deps.recovery.recoverAll();
    this.deps.recovery.start();
    this.deps.logger.info({ concurrency: this.deps.concurrency }, 'worker started');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.deps.recovery.stop();
      // Jobs taken but not started go back to the queue: waiting for all of them (up to
      // concurrency × JOBS_TAKEN_PER_RUN, of up to 32 writes each) could outlast a stop's grace.
      this.coalescer?.handBackWaiting();
      await this.consumer?.close();
      // Runs still going after the consumer's close gave up on them are hung: their writes go to
      // another worker once their leases run out.
      await this.deps.processor.close();
      this.deps.logger.info('worker stopped');
    })();
    return this.closing;
  }
}
