export interface PeriodicRunOptions<T> {
  /** Time from the end of one run to the start of the next, in ms; the first starts this long after `start`. */
  readonly intervalMs: number;
  /** One run of the work. */
  readonly run: () => Promise<T>;
  /** What a run gave. */
  readonly onDone?: (result: T) => void;
  /** A run failed (a store down, say); the next run tries again. */
  readonly onFailed: (error: unknown) => void;
}

/**
 * Background upkeep that runs now and then. Runs never overlap: the next is timed from the end of
 * the last. A failure is reported and the next run tries again. Stopping waits for the run under
 * way, and the timer never keeps the process alive. Reports go through callbacks, so that it serves
 * code with a logger as well as a thread that reports through messages.
 */
export class PeriodicRun<T> {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(private readonly options: PeriodicRunOptions<T>) {}

  /** Schedules the first run. Does nothing once started, or once stopped. */
  start(): void {
    if (this.#running === null) this.#arm();
  }

  /** Stops scheduling and waits for a run under way. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #arm(): void {
    if (this.#stopped || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // A report that throws (a logger's stream gone, say) must neither end the process, as a
      // rejection nobody handles would, nor stop the runs.
      this.#running = this.#runOnce()
        .catch(() => undefined)
        .finally(() => {
          this.#running = null;
          this.#arm();
        });
    }, this.options.intervalMs);
    this.#timer.unref();
  }

  async #runOnce(): Promise<void> {
    let result: T;
    try {
      result = await this.options.run();
    } catch (error) {
      this.options.onFailed(error);
      return;
    }
    this.options.onDone?.(result);
  }
}
