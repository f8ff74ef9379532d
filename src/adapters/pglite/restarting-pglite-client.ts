import type { Logger } from '../../ports/logger.js';
import { Restarts, type Supervision } from '../restarts.js';
import type { SqlClient, SqlExecutor, SqlStatement } from '../sql/sql-client.js';
import { PgliteThreadClient, type PgliteThreadEvents } from './pglite-thread-client.js';
import type { PgliteThreadData } from './pglite-thread-protocol.js';

/**
 * The embedded database, started again whenever its thread stops by itself (PostgreSQL stopped at
 * a PANIC, such as a full disk; the thread crashed), as a PostgreSQL server starts its backends
 * again after one of them stopped. Meanwhile every statement fails at once with postgres
 * unavailable (503, and `/readyz` names postgres); once started, the database has replayed its
 * log and serves again. A start that fails is tried again later, with a longer wait each time.
 */
export class RestartingPgliteClient implements SqlClient {
  #current: PgliteThreadClient;
  readonly #restarts: Restarts<PgliteThreadClient>;

  private constructor(first: PgliteThreadClient, later: PgliteThreadData, logger: Logger, supervision: Supervision) {
    this.#current = first;
    this.#restarts = new Restarts({
      what: 'the embedded database',
      start: () => PgliteThreadClient.start(later, loggedEvents(logger)),
      started: async (next) => {
        const stopped = this.#current;
        this.#current = next;
        this.#watch(next);
        await stopped.close();
      },
      discard: (next) => next.close(),
      logger,
      supervision,
    });
    this.#watch(first);
  }

  /**
   * Starts the first thread; rejects as PgliteThreadClient.start does when it cannot. Later
   * threads start as the first, without a fault a test injected into it.
   */
  static async start(data: PgliteThreadData, logger: Logger, supervision: Supervision = {}): Promise<RestartingPgliteClient> {
    const { failOnceOpen: _fault, ...later } = data;
    return new RestartingPgliteClient(await PgliteThreadClient.start(data, loggedEvents(logger)), later, logger, supervision);
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

  /** Statements here have no time limit (see SqlClient.unhurried). */
  get unhurried(): SqlClient {
    return this;
  }

  async close(): Promise<void> {
    await this.#restarts.close();
    await this.#current.close();
  }

  #watch(client: PgliteThreadClient): void {
    void client.stopped.then((reason) => this.#restarts.stopped(reason));
  }
}

/** The thread's checkpoints in the log: each one at debug, a failed one as a warning. */
function loggedEvents(logger: Logger): PgliteThreadEvents {
  return {
    checkpointed: ({ walBytes, ms }) => logger.debug({ walBytes, ms: Math.round(ms) }, 'embedded database checkpointed'),
    checkpointFailed: (error) => logger.warn({ err: error }, 'embedded database checkpoint failed; tried again in a moment'),
  };
}
