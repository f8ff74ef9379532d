import type { Logger } from '../ports/logger.js';

export interface PeriodicPassOptions {
  /** Names the pass in logs. */
  readonly name: string;
  /** One pass; what it resolves to is logged at debug level. */
  readonly run: () => Promise<Readonly<Record<string, unknown>>>;
  readonly logger: Logger;
  /** Time between the end of one pass and the start of the next. */
  readonly intervalMs: number;
}

/**
 * Background upkeep that runs now and then: passes never overlap, a failed pass (a store down) is
 * logged and the next one tries again, and stopping waits for the pass under way.
 */
export class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: PeriodicPassOptions) {}

  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
        this.start();
      });
    }, this.options.intervalMs);
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
    const { name, logger } = this.options;
    try {
      const report = await this.options.run();
      logger.debug({ pass: name, ...report }, 'background pass done');
    } catch (error) {
      logger.warn({ pass: name, err: error }, 'background pass failed; will try again');
    }
  }
}
