import type { TaskRepository } from '../ports/metadata-store.js';

export interface TaskRetentionDeps {
  readonly tasks: TaskRepository;
  /** How long a finished task stays readable (`GET /tasks/{id}`) after it finished, in ms. */
  readonly retentionMs: number;
  /**
   * Tasks deleted per statement. Default 500: 5-7 ms of the embedded database's thread, as long as
   * a worker run's transaction (1,000 took 11-19 ms); 100 statements a minute keep up with 800
   * finished writes a second.
   */
  readonly batchSize?: number;
  /** Statements per pass at most; what is left waits for the next pass. Default 100. */
  readonly maxBatchesPerPass?: number;
}

/**
 * Forgets finished write tasks once they are older than the retention, so that the task table
 * keeps to what clients may still ask about instead of one row for every write ever made. A
 * finished task holds no text (its draft went when it finished), and a task with an idempotency
 * key stays, since it answers a retry with that key.
 */
export class TaskRetention {
  constructor(private readonly deps: TaskRetentionDeps) {}

  /** One pass: deletes what has expired, a batch at a time; returns how many tasks went. */
  async forgetExpired(now: Date = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.deps.retentionMs);
    const batchSize = this.deps.batchSize ?? 500;
    const maxBatches = this.deps.maxBatchesPerPass ?? 100;
    let forgotten = 0;
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const deleted = await this.deps.tasks.forgetFinished(before, batchSize);
      forgotten += deleted;
      if (deleted < batchSize) break;
    }
    return forgotten;
  }
}
