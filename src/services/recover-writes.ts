import type { JobQueue } from '../ports/job-queue.js';
import type { Logger } from '../ports/logger.js';
import type { StaleTasksCursor, TaskRepository } from '../ports/metadata-store.js';
import { PeriodicRun } from '../support/periodic-run.js';

export interface WriteRecoveryDeps {
  readonly tasks: TaskRepository;
  readonly queue: JobQueue;
  readonly logger: Logger;
  /** A pending task untouched for this long is assumed lost by the queue and enqueued again. */
  readonly recoverAfterMs: number;
  /** How often to look. Default a fifth of recoverAfterMs, at least 1 s. */
  readonly intervalMs?: number;
  /** Tasks read and enqueued at a time (see recoverStale). Default 1,000. */
  readonly batchSize?: number;
}

/**
 * Drives accepted writes that the queue lost (a Redis restart, a killed worker) again, from their
 * durable record. Enqueueing a task twice is harmless: the worker claims only pending tasks.
 */
export class WriteRecovery {
  readonly #schedule: PeriodicRun<number>;
  readonly #batchSize: number;

  constructor(private readonly deps: WriteRecoveryDeps) {
    this.#batchSize = deps.batchSize ?? 1_000;
    this.#schedule = new PeriodicRun({
      intervalMs: deps.intervalMs ?? Math.max(1_000, Math.floor(deps.recoverAfterMs / 5)),
      run: () => this.recoverStale(),
      onFailed: (error) => deps.logger.warn({ err: error }, 'write recovery failed; will try again'),
    });
  }

  /**
   * Re-enqueues every pending task, however recent: at the boot of an embedded node, whose queue
   * was in its memory. Its worker is the only one: the claims of the process before it, which
   * died with it, end now rather than when their leases run out.
   */
  async recoverAll(): Promise<number> {
    const released = await this.deps.tasks.releaseAll();
    if (released > 0) this.deps.logger.info({ tasks: released }, 'writes under way when the node last stopped are pending again');
    // Untouched for "minus a second": touched before a second from now, by the database's clock.
    return this.#recover(-1_000, 'every page');
  }

  /**
   * Re-enqueues the pending tasks untouched for `recoverAfterMs` (what each look does). A queue
   * that holds fewer jobs than a page is not working through a backlog: what is stale was lost
   * (Redis restarted empty), and all of it goes back at once, rather than a page a look. A queue
   * that holds more may only be slow to reach its stale tasks, and each copy enqueued costs its
   * workers a claim: a page a look, as lost ones wait there behind the backlog anyway.
   */
  async recoverStale(): Promise<number> {
    const backlog = await this.deps.queue.depth();
    return this.#recover(this.deps.recoverAfterMs, backlog < this.#batchSize ? 'every page' : 'one page');
  }

  /** Re-enqueues the pending tasks untouched for `untouchedForMs` (by the database's clock). */
  async #recover(untouchedForMs: number, pages: 'every page' | 'one page'): Promise<number> {
    // Tasks enqueued here keep their old updated_at until a worker claims them, so a look after
    // this one may see some again; enqueueing twice is harmless.
    let recovered = 0;
    let after: StaleTasksCursor | undefined;
    do {
      const page = await this.deps.tasks.findStale(untouchedForMs, this.#batchSize, after);
      if (page.tasks.length > 0) await this.deps.queue.enqueue(page.tasks.map((task) => ({ taskIds: [task.taskId] })));
      recovered += page.tasks.length;
      after = pages === 'every page' ? (page.next ?? undefined) : undefined;
    } while (after !== undefined);
    if (recovered > 0) this.deps.logger.info({ tasks: recovered }, 're-enqueued pending writes');
    return recovered;
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
