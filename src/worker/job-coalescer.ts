import { JobHandedBackError } from '../domain/errors.js';
import type { WriteJob } from '../ports/job-queue.js';

export interface JobCoalescerOptions {
  /** Processes the tasks of several jobs as one; throwing fails every job of that run. */
  readonly run: (job: WriteJob) => Promise<void>;
  /** Most tasks handed to one run. */
  readonly maxTasks: number;
  /** Runs at the same time. */
  readonly concurrency: number;
  /**
   * While a run is under way, how long the jobs that arrive may wait for more to join them before a
   * further run starts; a full run starts at once. Default 0: at once.
   */
  readonly lingerMs?: number;
  /**
   * Least time between the starts of two runs, unless the later one is full. A job arriving after
   * a quiet spell (no run started for this long) runs at once. Default 0.
   */
  readonly spacingMs?: number;
}

interface Waiting {
  readonly taskIds: readonly string[];
  /** When the job arrived (performance.now()). */
  readonly since: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Merges the write jobs that wait at the same time into one run. A job of one task (a single
 * POST /memory) costs nearly as much as a job of thirty: a claim, a model call, a transaction, a
 * vector upsert, a completion. Under load, runs fill up by themselves while the previous ones are
 * busy; at rest a lone job runs at once. With `lingerMs`, a run does not start beside another
 * until it is full or its oldest job has waited that long: otherwise a steady stream of single
 * writes is cut into many small runs in parallel, and each run costs a vector-store request per
 * collection it touches. With `spacingMs`, runs that follow one another start that far apart
 * (unless full), so that a steady stream slower than the runs gathers into fewer, larger ones. Each
 * job settles with the run that held it, so the queue still retries exactly the jobs that failed.
 */
export class JobCoalescer {
  readonly #options: JobCoalescerOptions;
  readonly #waiting: Waiting[] = [];
  #waitingTasks = 0;
  #running = 0;
  #wakeUp: NodeJS.Timeout | null = null;
  #wakeUpAt = Number.POSITIVE_INFINITY;
  #lastStart = Number.NEGATIVE_INFINITY;
  #handingBack = false;

  constructor(options: JobCoalescerOptions) {
    this.#options = options;
  }

  process(job: WriteJob): Promise<void> {
    if (this.#handingBack) return Promise.reject(new JobHandedBackError());
    return new Promise((resolve, reject) => {
      this.#waiting.push({ taskIds: job.taskIds, since: performance.now(), resolve, reject });
      this.#waitingTasks += job.taskIds.length;
      this.#dispatch();
    });
  }

  /**
   * Starts no more runs: the jobs waiting, and any that come later, are rejected with
   * JobHandedBackError for the queue to hand on. Runs under way finish as they would.
   */
  handBackWaiting(): void {
    this.#handingBack = true;
    if (this.#wakeUp !== null) clearTimeout(this.#wakeUp);
    this.#wakeUp = null;
    this.#wakeUpAt = Number.POSITIVE_INFINITY;
    const waiting = this.#waiting.splice(0);
    this.#waitingTasks = 0;
    for (const job of waiting) job.reject(new JobHandedBackError());
  }

  #dispatch(): void {
    if (this.#handingBack) return;
    while (this.#running < this.#options.concurrency && this.#waiting.length > 0) {
      if (!this.#mayStart()) return;
      const taken: Waiting[] = [];
      let tasks = 0;
      while (this.#waiting.length > 0) {
        const next = this.#waiting[0] as Waiting;
        if (taken.length > 0 && tasks + next.taskIds.length > this.#options.maxTasks) break;
        taken.push(next);
        tasks += next.taskIds.length;
        this.#waiting.shift();
      }
      this.#waitingTasks -= tasks;
      this.#running += 1;
      this.#lastStart = performance.now();
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

  /**
   * True when the waiting jobs may start a run now: they fill one, or beside a busy run the oldest
   * has lingered, or with none busy the last run started `spacingMs` ago. Else schedules a look
   * for when they may.
   */
  #mayStart(): boolean {
    if (this.#waitingTasks >= this.#options.maxTasks) return true;
    const oldest = this.#waiting[0]?.since ?? 0;
    const readyAt = this.#running > 0 ? oldest + (this.#options.lingerMs ?? 0) : this.#lastStart + (this.#options.spacingMs ?? 0);
    const now = performance.now();
    if (readyAt <= now) return true;
    if (this.#wakeUp !== null && this.#wakeUpAt <= readyAt) return false;
    if (this.#wakeUp !== null) clearTimeout(this.#wakeUp);
    this.#wakeUpAt = readyAt;
    this.#wakeUp = setTimeout(() => {
      this.#wakeUp = null;
      this.#wakeUpAt = Number.POSITIVE_INFINITY;
      this.#dispatch();
    }, readyAt - now);
    return false;
  }
}
