import type { Logger } from '../ports/logger.js';
import type { RestartCounts } from '../ports/restart-counts.js';

export interface RestartTiming {
  /** Wait before starting again something that stopped. Default 1 s. */
  readonly firstDelayMs?: number;
  /** The wait doubles after each start that fails, up to this. Default 30 s. */
  readonly maxDelayMs?: number;
}

/** How a supervisor starts again, and who hears of its stops and failed starts. */
export interface Supervision {
  readonly timing?: RestartTiming;
  readonly counts?: RestartCounts | undefined;
}

export interface RestartPlan<T> {
  /** What is started again, for the log: e.g. "the embedded database". */
  readonly what: string;
  /** Starts it; rejects when it cannot. */
  readonly start: () => Promise<T>;
  /** Takes what was started; after `close`, what a late start gives is handed to `discard` instead. */
  readonly started: (started: T) => Promise<void>;
  readonly discard: (started: T) => Promise<void>;
  readonly logger: Logger;
  readonly supervision?: Supervision;
}

/**
 * Starts something again once it has stopped by itself, as a server's supervisor does: after a
 * short wait, and after twice as long each time a start fails, up to a bound. Nothing starts
 * once closed.
 */
export class Restarts<T> {
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #starting: Promise<void> | null = null;
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(private readonly plan: RestartPlan<T>) {
    this.#firstDelayMs = plan.supervision?.timing?.firstDelayMs ?? 1_000;
    this.#maxDelayMs = plan.supervision?.timing?.maxDelayMs ?? 30_000;
  }

  /** Says it stopped, and starts it again after the first wait. */
  stopped(reason: unknown): void {
    if (this.#closed) return;
    this.plan.supervision?.counts?.stopped();
    this.plan.logger.error({ err: reason, retryInMs: this.#firstDelayMs }, `${this.plan.what} stopped; starting it again`);
    this.#later(this.#firstDelayMs);
  }

  /** Cancels a start that is waiting, and waits for one under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#starting;
  }

  #later(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#starting = this.#startAgain(delayMs).finally(() => {
        this.#starting = null;
      });
    }, delayMs);
  }

  async #startAgain(delayMs: number): Promise<void> {
    let started: T;
    try {
      started = await this.plan.start();
    } catch (error) {
      const retryInMs = Math.min(delayMs * 2, this.#maxDelayMs);
      this.plan.supervision?.counts?.startFailed();
      this.plan.logger.error({ err: error, retryInMs }, `${this.plan.what} did not start again; trying later`);
      this.#later(retryInMs);
      return;
    }
    if (this.#closed) return this.plan.discard(started);
    await this.plan.started(started);
    this.plan.logger.info(`${this.plan.what} started again`);
  }
}
