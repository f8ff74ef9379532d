import { OverloadedError } from '../domain/errors.js';
import type { TaskRepository } from '../ports/metadata-store.js';

export interface WriteBacklogOptions {
  readonly tasks: TaskRepository;
  /** Accepted writes not yet stored beyond which new writes are refused. */
  readonly maxPending: number;
  /** How long a count of pending writes is trusted before it is taken again. Default 1,000 ms. */
  readonly refreshMs?: number;
}

/**
 * Refuses new writes while too many accepted ones wait to be stored: when the workers fall behind
 * (or a store is down), the backlog in Postgres must not grow without bound. Counting is cheap but
 * not free, so a count is reused for `refreshMs`, plus what this process accepted since.
 */
export class WriteBacklog {
  private pending = 0;
  private countedAt = Number.NEGATIVE_INFINITY;
  private counting: Promise<void> | null = null;

  constructor(private readonly options: WriteBacklogOptions) {}

  /** Throws OverloadedError unless `adding` more writes fit; counts them in when they do. */
  async reserve(adding: number): Promise<void> {
    if (Date.now() - this.countedAt > (this.options.refreshMs ?? 1_000)) await this.recount();
    if (this.pending + adding > this.options.maxPending) {
      throw new OverloadedError('too many accepted writes are waiting to be stored', {
        pending: this.pending,
        limit: this.options.maxPending,
      });
    }
    this.pending += adding;
  }

  private recount(): Promise<void> {
    // Concurrent requests share one count rather than each running their own.
    this.counting ??= this.options.tasks
      .countPending()
      .then((pending) => {
        this.pending = pending;
        this.countedAt = Date.now();
      })
      .finally(() => {
        this.counting = null;
      });
    return this.counting;
  }
}
