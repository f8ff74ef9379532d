import type { Logger } from '../ports/logger.js';
import type { StoreReconciler } from '../services/reconcile-stores.js';

export interface ReconcileLoopDeps {
  readonly reconciler: StoreReconciler;
  readonly logger: Logger;
  /** Time between the end of one pass and the start of the next. */
  readonly intervalMs: number;
}

/**
 * Repairs drift between the stores now and then, as `engram doctor --fix` does. Passes never
 * overlap; a failed pass (a store down) is logged and the next one tries again.
 */
export class ReconcileLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: ReconcileLoopDeps) {}

  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
        this.start();
      });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** Stops scheduling and waits for a pass under way. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<void> {
    try {
      const report = await this.deps.reconciler.repair();
      this.deps.logger.debug(
        { owners: report.ownersChecked, restored: report.restored, removed: report.removed, stuckTasks: report.stuckTasks },
        'reconciled the stores',
      );
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'reconciling the stores failed; will try again');
    }
  }
}
