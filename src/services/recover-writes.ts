import type { JobQueue } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { TaskRepository } from '../ports/metadata-store.js';
import { PeriodicRun } from '../support/periodic-run.js';

export interface WriteRecoveryDeps {
  readonly tasks: TaskRepository;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** A pending task untouched for this long is assumed lost by the queue and enqueued again. */
  readonly recoverAfterMs: number;
  /** How often to look. Default a fifth of recoverAfterMs, at least 1 s. */
  readonly intervalMs?: number;
  /** Tasks re-enqueued per look at most. Default 1,000. */
  readonly batchSize?: number;
}

/**
 * Drives accepted writes that the queue lost (a Redis restart, a killed worker) again, from their
 * durable record. Enqueueing a task twice is harmless: the worker claims only pending tasks.
 */
export class WriteRecovery {
  readonly #schedule: PeriodicRun<number>;

  constructor(private readonly deps: WriteRecoveryDeps) {
    this.#schedule = new PeriodicRun({
      intervalMs: deps.intervalMs ?? Math.max(1_000, Math.floor(deps.recoverAfterMs / 5)),
      run: () => this.#recoverUntouchedFor(deps.recoverAfterMs),
      onFailed: (error) => deps.logger.warn({ err: error }, 'write recovery failed; will try again'),
    });
  }

  /** Re-enqueues every pending task, however recent: at the boot of an embedded node, whose queue was in its memory. */
  recoverAll(): Promise<number> {
    // Untouched for "minus a second": touched before a second from now, by the database's clock.
    return this.#recoverUntouchedFor(-1_000);
  }

  /** Re-enqueues the pending tasks untouched for `untouchedForMs` (by the database's clock). */
  async #recoverUntouchedFor(untouchedForMs: number): Promise<number> {
    // Tasks enqueued here keep their old updated_at until a worker claims them, so a look after
    // this one may see some again; enqueueing twice is harmless.
    const stale = await this.deps.tasks.findStale(untouchedForMs, this.deps.batchSize ?? 1_000);
    if (stale.length === 0) return 0;
    await this.deps.queue.enqueue(stale.map((task) => ({ taskIds: [task.taskId] })));
    this.deps.logger.info({ tasks: stale.length }, 're-enqueued pending writes');
    return stale.length;
  }

  /** Looks for lost writes every `intervalMs` from now on. */
  start(): void {
    this.#schedule.start();
  }

  /** Stops looking; resolves once a look under way has ended. */
  stop(): Promise<void> {
    return this.#schedule.stop();
  }
}
