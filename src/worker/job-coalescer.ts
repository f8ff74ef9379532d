import type { WriteJob } from '../ports/job-queue.js';

export interface JobCoalescerOptions {
  /** Processes the tasks of several jobs as one; throwing fails every job of that run. */
  readonly run: (job: WriteJob) => Promise<void>;
  /** Most tasks handed to one run. */
  readonly maxTasks: number;
  /** Runs at the same time. */
  readonly concurrency: number;
}

interface Waiting {
  readonly taskIds: readonly string[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Merges the write jobs that wait at the same time into one run. A job of one task (a single
 * POST /memory) costs nearly as much as a job of thirty: a claim, a model call, a transaction, a
 * vector upsert, a completion. Under load, runs fill up by themselves while the previous ones are
 * busy; at rest a lone job runs at once. Each job settles with the run that held it, so the queue
 * still retries exactly the jobs that failed.
 */
export class JobCoalescer {
  readonly #options: JobCoalescerOptions;
  readonly #waiting: Waiting[] = [];
  #running = 0;

  constructor(options: JobCoalescerOptions) {
    this.#options = options;
  }

  process(job: WriteJob): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ taskIds: job.taskIds, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#running < this.#options.concurrency && this.#waiting.length > 0) {
      const taken: Waiting[] = [];
      let tasks = 0;
      while (this.#waiting.length > 0) {
        const next = this.#waiting[0] as Waiting;
        if (taken.length > 0 && tasks + next.taskIds.length > this.#options.maxTasks) break;
        taken.push(next);
        tasks += next.taskIds.length;
        this.#waiting.shift();
      }
      this.#running += 1;
      void this.#options
        .run({ taskIds: taken.flatMap((waiting) => waiting.taskIds) })
        .then(
          () => taken.forEach((waiting) => waiting.resolve()),
          (error: unknown) => taken.forEach((waiting) => waiting.reject(error)),
        )
        .finally(() => {
          this.#running -= 1;
          this.#dispatch();
        });
    }
  }
}
