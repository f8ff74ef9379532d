import type { Logger } from '../ports/logger.js';
import type { TaskRepository } from '../ports/metadata-store.js';
import { PeriodicRun } from '../support/periodic-run.js';

export interface TaskLeasesDeps {
  readonly tasks: Pick<TaskRepository, 'renew'>;
  readonly logger: Logger;
  /** How long a claim keeps other workers off its tasks unless renewed (see TaskRepository.claim). */
  readonly leaseMs: number;
}

/** A lease being renewed; `end` stops renewing it and waits for a renewal under way. */
export interface HeldLease {
  end(): Promise<void>;
}

/**
 * Keeps a worker's claims alive while its runs go on: every third of the lease, the tasks of each
 * run are touched again, so a run that outlasts the lease is not taken for lost and claimed by
 * another worker too. A worker that dies stops renewing, and its tasks are claimable once the
 * lease has run out.
 */
export class TaskLeases {
  readonly #held = new Set<HeldLease>();
  #closed = false;

  constructor(private readonly deps: TaskLeasesDeps) {}

  /** Renews the lease on these tasks until the lease returned is ended, or these leases closed. */
  hold(taskIds: readonly string[]): HeldLease {
    const renewal = new PeriodicRun({
      intervalMs: Math.max(1, Math.floor(this.deps.leaseMs / 3)),
      run: () => this.deps.tasks.renew(taskIds),
      onFailed: (error) => this.deps.logger.warn({ err: error, tasks: taskIds.length }, 'could not renew the lease on writes under way'),
    });
    const lease: HeldLease = {
      end: () => {
        this.#held.delete(lease);
        return renewal.stop();
      },
    };
    if (this.#closed) return lease;
    this.#held.add(lease);
    renewal.start();
    return lease;
  }

  /**
   * Stops renewing every lease, now and from now on: the runs still going (hung on a dependency,
   * say) let their tasks go to another worker once their leases run out.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#held].map((lease) => lease.end()));
  }
}
