import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DependencyUnavailableError } from '../../domain/errors.js';
import type { SqlClient, SqlExecutor, SqlStatement } from '../sql/sql-client.js';
import { startWorkerThread, whenStarted } from '../worker-thread.js';
import {
  fromThreadError,
  type FromPgliteThread,
  type PgliteThreadData,
  type ToPgliteThread,
} from './pglite-thread-protocol.js';
import type { Checkpointed } from './wal-checkpoints.js';

type Request = ToPgliteThread extends infer Message ? (Message extends { id: number } ? Omit<Message, 'id'> : never) : never;

/** What the thread tells of its own work, beside the answers to statements. */
export interface PgliteThreadEvents {
  /** A checkpoint the thread took by itself (see WalCheckpoints). */
  readonly checkpointed?: (done: Checkpointed) => void;
  /** A checkpoint the thread tried, or the read before it, failed; it tries again later. */
  readonly checkpointFailed?: (error: Error) => void;
}

interface Pending {
  readonly resolve: (rows: unknown[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A SqlClient whose PGlite runs in a thread of its own. Statements and transactions behave as with
 * PGlite on the calling thread (one statement at a time; a transaction holds the database until it
 * ends), while the event loop of the caller stays free for HTTP and other stores.
 */
export class PgliteThreadClient implements SqlClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextTx = 1;
  private closed: Promise<void> | null = null;
  private exitError: Error | null = null;
  readonly #stopped: Promise<Error>;
  #onStopped: (reason: Error) => void = () => undefined;

  private constructor(
    private readonly worker: Worker,
    events: PgliteThreadEvents,
  ) {
    this.#stopped = new Promise((resolve) => {
      this.#onStopped = resolve;
    });
    worker.on('message', (message: FromPgliteThread) => {
      if (message.type === 'stopped') return this.fail(new DependencyUnavailableError('postgres', fromThreadError(message.error)));
      if (message.type === 'checkpointed') return events.checkpointed?.({ walBytes: message.walBytes, ms: message.ms });
      if (message.type === 'checkpoint-failed') return events.checkpointFailed?.(fromThreadError(message.error));
      if (message.type !== 'rows' && message.type !== 'error') return;
      const pending = this.pending.get(message.id);
      if (pending === undefined) return;
      this.pending.delete(message.id);
      if (message.type === 'rows') pending.resolve(message.rows);
      else pending.reject(fromThreadError(message.error));
    });
    // An error the thread did not catch ends it; unheard here, it would end the whole process too.
    worker.on('error', (error) => this.fail(new DependencyUnavailableError('postgres', error)));
    worker.once('exit', (code) => this.fail(new DependencyUnavailableError('postgres', new Error(`the embedded database thread exited with ${code}`))));
  }

  /**
   * Settles with the reason once the thread has stopped by itself (PostgreSQL stopped, the thread
   * exited), never when it was closed: from then on every statement fails with that reason.
   */
  get stopped(): Promise<Error> {
    return this.#stopped;
  }

  /** Fails every statement waiting for an answer, and every later one, with the first reason given. */
  private fail(reason: Error): void {
    if (this.exitError === null && this.closed === null) this.#onStopped(reason);
    this.exitError ??= reason;
    for (const pending of this.pending.values()) pending.reject(this.exitError);
    this.pending.clear();
  }

  /**
   * Starts the thread and opens the database there; rejects with PGlite's error when it cannot.
   * A database not made yet is made first by a thread of its own, which then ends: making it
   * leaves about 430 MB in the memory of the PGlite that made it, which stays for as long as that
   * PGlite is open (a fresh embedded Engram started at 1,313 MB resident, and at 789 MB when
   * started again on the same data).
   */
  static async start(data: PgliteThreadData, events: PgliteThreadEvents = {}): Promise<PgliteThreadClient> {
    if (!existsSync(join(data.dataDir, 'PG_VERSION'))) await createDatabase(data);
    const worker = startWorkerThread(import.meta.url, 'pglite-thread', data);
    await whenStarted(worker, 'the embedded database thread', readiness);
    return new PgliteThreadClient(worker, events);
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.call({ type: 'query', text, params })) as Row[];
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const tx = this.nextTx++;
    await this.call({ type: 'begin', tx });
    let result: T;
    try {
      result = await work({
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (await this.call({ type: 'tx-query', tx, text, params })) as Row[],
      });
    } catch (error) {
      await this.call({ type: 'end', tx, commit: false }).catch(() => undefined);
      throw error;
    }
    await this.call({ type: 'end', tx, commit: true });
    return result;
  }

  /** One message to the thread and one back, where `transaction` needs two per statement and two more. */
  async transactionOf<Row>(statements: readonly SqlStatement[]): Promise<Row[]> {
    return (await this.call({ type: 'transaction-of', statements })) as Row[];
  }

  /** One message to the thread, and one back per statement as soon as it has run. */
  readEach(prefix: readonly SqlStatement[], statements: readonly SqlStatement[]): Array<Promise<unknown[]>> {
    if (statements.length === 0) return [];
    if (this.exitError !== null) {
      const failed = Promise.reject(this.exitError);
      return statements.map(() => failed);
    }
    const ids = statements.map(() => this.nextId++);
    const answers = ids.map((id) => new Promise<unknown[]>((resolve, reject) => this.pending.set(id, { resolve, reject })));
    this.worker.postMessage({ type: 'read-each', ids, prefix, statements } satisfies ToPgliteThread);
    return answers;
  }

  /** Statements here have no time limit (see SqlClient.unhurried). */
  get unhurried(): SqlClient {
    return this;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.exitError === null) await this.call({ type: 'close' }).catch(() => undefined);
      this.exitError ??= new Error('the embedded database is closed');
      await this.worker.terminate();
    })();
    return this.closed;
  }

  private call(request: Request): Promise<unknown[]> {
    if (this.exitError !== null) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as ToPgliteThread);
    });
  }
}

/** A starting thread's verdict: ready, or PGlite's error when it could not open the database. */
function readiness(message: FromPgliteThread): true | Error | undefined {
  return message.type === 'ready' ? true : message.type === 'failed' ? fromThreadError(message.error) : undefined;
}

/** Makes the database in a thread that ends once it is made, and waits for that end. */
async function createDatabase(data: PgliteThreadData): Promise<void> {
  const worker = startWorkerThread(import.meta.url, 'pglite-thread', { ...data, createOnly: true } satisfies PgliteThreadData);
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await whenStarted(worker, 'the thread making the embedded database', readiness);
  await ended;
}
