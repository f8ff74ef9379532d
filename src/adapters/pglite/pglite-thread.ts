// Entry point of the thread that runs the embedded database. PGlite computes on the thread that
// calls it; here that is not the thread serving HTTP, so a slow statement or a checkpoint delays
// other statements only, not every request.
import { fsyncSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { DomainError } from '../../domain/errors.js';
import { FailingLogWrites } from './failing-log-writes.js';
import { FlushingNodeFS } from './flushing-node-fs.js';
import type { SqlStatement } from '../sql/sql-client.js';
import { PreparedStatements } from './prepared-statements.js';
import { WalCheckpoints } from './wal-checkpoints.js';
import {
  toThreadError,
  type FromPgliteThread,
  type PgliteThreadData,
  type ThreadError,
  type ToPgliteThread,
} from './pglite-thread-protocol.js';

if (parentPort === null) throw new DomainError('internal', 'not_a_worker', 'pglite-thread runs only in a worker thread');
const port = parentPort;
const { dataDir, startParams, createOnly = false, failOnceOpen, checkpoints: checkpointPolicy } = workerData as PgliteThreadData;

/**
 * After a PANIC (a failed flush, a log write on a full disk) PostgreSQL has stopped, and PGlite
 * would block this thread for good at its next statement, leaving every caller waiting: the thread
 * says why and ends instead, which fails them at once. Started again, the database replays its
 * log, as a server does after such a stop.
 */
const stop = (error: ThreadError): never => {
  port.postMessage({ type: 'stopped', error } satisfies FromPgliteThread);
  process.exit(1);
};

const isPanic = (error: ThreadError): boolean => error.fields['severity'] === 'PANIC';

/** Rethrows a statement's error, but for a PANIC, which stops the thread. */
const stopAtPanic = (error: unknown): never => {
  const reported = toThreadError(error);
  if (isPanic(reported)) stop(reported);
  throw error;
};

const send = (message: FromPgliteThread): void => {
  if ((message.type === 'error' || message.type === 'checkpoint-failed') && isPanic(message.error)) stop(message.error);
  port.postMessage(message);
};

type TxMessage = Extract<ToPgliteThread, { type: 'tx-query' | 'end' }>;

/** Messages for one open transaction, taken one at a time by the code that holds it. */
class Inbox {
  private readonly waiting: TxMessage[] = [];
  private wake: ((message: TxMessage) => void) | null = null;
  push(message: TxMessage): void {
    if (this.wake === null) this.waiting.push(message);
    else {
      const wake = this.wake;
      this.wake = null;
      wake(message);
    }
  }
  next(): Promise<TxMessage> {
    const first = this.waiting.shift();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}

/** Thrown inside PGlite's transaction to make it roll back. */
const ROLL_BACK = new Error('rolled back by the caller');

let open = false;
const flush = (descriptor: number): void => {
  if (failOnceOpen === 'flushes' && open) throw new Error('flush failed (injected by a test)');
  fsyncSync(descriptor);
};
// A failed flush, or a failed write of the log, stops the thread before PostgreSQL hears of it,
// with the failure's own error.
const stopAtFailedFlush = (error: unknown): never => stop(toThreadError(error));
const fs =
  failOnceOpen === 'log-writes'
    ? new FailingLogWrites(() => open, dataDir, flush, stopAtFailedFlush)
    : new FlushingNodeFS(dataDir, flush, stopAtFailedFlush);

try {
  const db = await PGlite.create({ fs, startParams: [...startParams] });
  open = true;
  if (createOnly) {
    await db.close();
    send({ type: 'ready' });
  } else serve(db);
} catch (error) {
  send({ type: 'failed', error: toThreadError(error) });
}

/** Answers the main thread's messages on the open database, then says it is ready. */
function serve(db: PGlite): void {
  const prepared = new PreparedStatements(db);
  const inboxes = new Map<number, Inbox>();
  const checkpoints = new WalCheckpoints(
    async (text) => (await db.query(text)).rows,
    {
      checkpointed: (done) => send({ type: 'checkpointed', ...done }),
      failed: (error) => send({ type: 'checkpoint-failed', error: toThreadError(error) }),
    },
    checkpointPolicy,
  );

  // PGlite holds the database for the whole callback of `transaction`, so statements of other
  // callers wait rather than run inside it.
  const runTransaction = (tx: number, beginId: number): void => {
    const inbox = new Inbox();
    inboxes.set(tx, inbox);
    let endId = -1;
    db.transaction(async (handle: Transaction) => {
      send({ type: 'rows', id: beginId, rows: [] });
      for (;;) {
        const message = await inbox.next();
        if (message.type === 'end') {
          endId = message.id;
          if (message.commit) return;
          throw ROLL_BACK;
        }
        try {
          send({ type: 'rows', id: message.id, rows: (await handle.query(message.text, [...message.params])).rows });
        } catch (error) {
          send({ type: 'error', id: message.id, error: toThreadError(error) });
        }
      }
    }).then(
      () => send({ type: 'rows', id: endId, rows: [] }),
      (error: unknown) =>
        endId === -1 || error !== ROLL_BACK
          ? send({ type: 'error', id: endId === -1 ? beginId : endId, error: toThreadError(error) })
          : send({ type: 'rows', id: endId, rows: [] }),
    ).finally(() => inboxes.delete(tx));
  };

  // A PANIC stops the thread here, before PGlite's ROLLBACK, a statement after it.
  const inTransaction = (statements: readonly SqlStatement[]): Promise<unknown[]> =>
    db.transaction(async (handle: Transaction) => {
      let rows: unknown[] = [];
      for (const { text, params, prepare } of statements) {
        const unprepared = async (): Promise<unknown[]> => (await handle.query(text, [...params])).rows;
        rows = await (prepare === true ? prepared.rows(text, params, unprepared) : unprepared()).catch(stopAtPanic);
      }
      return rows;
    });

  // A pipeline holds the database as `transaction` does (both of PGlite's locks, in the same
  // order), so it never runs inside another caller's open transaction.
  const holdingDatabase = <T>(work: () => Promise<T>): Promise<T> => db._runExclusiveTransaction(() => db.runExclusive(work));
  const allPrepared = (statements: readonly SqlStatement[]): boolean => statements.every((statement) => statement.prepare === true);

  // Statements that are all prepared go as one pipeline.
  const transactionOf = async (statements: readonly SqlStatement[]): Promise<unknown[]> => {
    if (!allPrepared(statements)) return inTransaction(statements);
    const rows = await holdingDatabase(() => prepared.pipeline(statements));
    return rows ?? inTransaction(statements);
  };

  // Each statement after the prefix is answered as soon as it has run. Statements that are all
  // prepared go as one pipeline; otherwise (or when a text gets no name) each runs as a
  // transaction of its own.
  const readEach = async (message: Extract<ToPgliteThread, { type: 'read-each' }>): Promise<void> => {
    const answered = new Set<number>();
    const answer = (index: number, reply: (id: number) => FromPgliteThread): void => {
      const id = message.ids[index];
      if (id === undefined || answered.has(index)) return;
      answered.add(index);
      send(reply(id));
    };
    const all = [...message.prefix, ...message.statements];
    if (allPrepared(all)) {
      try {
        const streamed = await holdingDatabase(() =>
          prepared.stream(all, (index, rows) => answer(index - message.prefix.length, (id) => ({ type: 'rows', id, rows }))),
        );
        if (streamed) return;
      } catch (error) {
        // The statement that failed, and those after it, which did not run.
        for (const index of message.ids.keys()) answer(index, (id) => ({ type: 'error', id, error: toThreadError(error) }));
        return;
      }
    }
    for (const [index, statement] of message.statements.entries()) {
      await transactionOf([...message.prefix, statement]).then(
        (rows) => answer(index, (id) => ({ type: 'rows', id, rows })),
        (error: unknown) => answer(index, (id) => ({ type: 'error', id, error: toThreadError(error) })),
      );
    }
  };

  port.on('message', (message: ToPgliteThread) => {
    if (failOnceOpen === 'throws') {
      setImmediate(() => {
        throw new Error('thread failed (injected by a test)');
      });
    }
    switch (message.type) {
      case 'query':
        db.query(message.text, [...message.params]).then(
          (result) => send({ type: 'rows', id: message.id, rows: result.rows }),
          (error: unknown) => send({ type: 'error', id: message.id, error: toThreadError(error) }),
        );
        return;
      case 'transaction-of':
        transactionOf(message.statements).then(
          (rows) => send({ type: 'rows', id: message.id, rows }),
          (error: unknown) => send({ type: 'error', id: message.id, error: toThreadError(error) }),
        );
        return;
      case 'read-each':
        void readEach(message);
        return;
      case 'begin':
        runTransaction(message.tx, message.id);
        return;
      case 'tx-query':
      case 'end': {
        const inbox = inboxes.get(message.tx);
        if (inbox === undefined) send({ type: 'error', id: message.id, error: { message: `no open transaction ${message.tx}`, fields: {} } });
        else inbox.push(message);
        return;
      }
      case 'close':
        checkpoints
          .stop()
          .then(() => db.close())
          .then(
            () => send({ type: 'rows', id: message.id, rows: [] }),
            (error: unknown) => send({ type: 'error', id: message.id, error: toThreadError(error) }),
          );
        return;
    }
  });
  checkpoints.start();
  send({ type: 'ready' });
}
