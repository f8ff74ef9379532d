import type { Logger } from '../../ports/logger.js';
import type { SqlClient, SqlExecutor, SqlStatement } from '../sql/sql-client.js';
import { PgliteThreadClient } from './pglite-thread-client.js';
import type { PgliteThreadData } from './pglite-thread-protocol.js';

export interface RestartTiming {
  /** Wait before starting a stopped database again. Default 1 s. */
  readonly firstDelayMs?: number;
  /** The wait doubles after each start that fails, up to this. Default 30 s. */
  readonly maxDelayMs?: number;
}

/**
 * The embedded database, started again whenever its thread stops by itself (PostgreSQL stopped at
 * a PANIC, such as a full disk; the thread crashed), as a PostgreSQL server starts its backends
 * again after one of them stopped. Meanwhile every statement fails at once with postgres
 * unavailable (503, and `/readyz` names postgres); once started, the database has replayed its
 * log and serves again. A start that fails is tried again later, with a longer wait each time.
 */
export class RestartingPgliteClient implements SqlClient {
  #current: PgliteThreadClient;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #starting: Promise<void> | null = null;
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;

  private constructor(
    first: PgliteThreadClient,
    /** How each later thread is started: as the first, without a fault a test injected into it. */
    private readonly data: PgliteThreadData,
    private readonly logger: Logger,
    timing: RestartTiming,
  ) {
    this.#current = first;
    this.#firstDelayMs = timing.firstDelayMs ?? 1_000;
    this.#maxDelayMs = timing.maxDelayMs ?? 30_000;
    this.#watch(first);
  }

  /** Starts the first thread; rejects as PgliteThreadClient.start does when it cannot. */
  static async start(data: PgliteThreadData, logger: Logger, timing: RestartTiming = {}): Promise<RestartingPgliteClient> {
    const { failOnceOpen: _fault, ...later } = data;
    return new RestartingPgliteClient(await PgliteThreadClient.start(data), later, logger, timing);
  }

  query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.#current.query<Row>(text, params);
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#current.transaction(work);
  }

  transactionOf<Row>(statements: readonly SqlStatement[]): Promise<Row[]> {
    return this.#current.transactionOf<Row>(statements);
  }

  readEach(prefix: readonly SqlStatement[], statements: readonly SqlStatement[]): Array<Promise<unknown[]>> {
    return this.#current.readEach(prefix, statements);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#starting;
    await this.#current.close();
  }

  #watch(client: PgliteThreadClient): void {
    void client.stopped.then((reason) => {
      this.logger.error({ err: reason, retryInMs: this.#firstDelayMs }, 'the embedded database stopped; starting it again');
      this.#startLater(this.#firstDelayMs);
    });
  }

  #startLater(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#starting = this.#startAgain(delayMs).finally(() => {
        this.#starting = null;
      });
    }, delayMs);
  }

  async #startAgain(delayMs: number): Promise<void> {
    let next: PgliteThreadClient;
    try {
      next = await PgliteThreadClient.start(this.data);
    } catch (error) {
      const retryInMs = Math.min(delayMs * 2, this.#maxDelayMs);
      this.logger.error({ err: error, retryInMs }, 'the embedded database did not start again; trying later');
      this.#startLater(retryInMs);
      return;
    }
    if (this.#closed) {
      await next.close();
      return;
    }
    const stopped = this.#current;
    this.#current = next;
    this.#watch(next);
    await stopped.close();
    this.logger.info('the embedded database started again');
  }
}
