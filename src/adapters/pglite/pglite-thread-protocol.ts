/** Messages between the main thread and the thread that runs PGlite. */
import type { SqlStatement } from '../sql/sql-client.js';
import type { Checkpointed, WalCheckpointPolicy } from './wal-checkpoints.js';

export interface PgliteThreadData {
  readonly dataDir: string;
  readonly startParams: readonly string[];
  /** Only makes the database in `dataDir`, closes it and ends, once it has said `ready`. */
  readonly createOnly?: boolean;
  /**
   * Fault injection for tests: once the database is open, every flush to the disk fails, or every
   * write of the write-ahead log fails as on a full disk, or the thread throws an error that
   * nothing catches at its first message.
   */
  readonly failOnceOpen?: 'flushes' | 'log-writes' | 'throws';
  /** When the open database takes checkpoints (see WalCheckpointPolicy); the defaults for the rest. */
  readonly checkpoints?: Partial<WalCheckpointPolicy>;
}

export type ToPgliteThread =
  | { readonly type: 'query'; readonly id: number; readonly text: string; readonly params: readonly unknown[] }
  /** Runs the statements in one transaction there; answered with the rows of the last. */
  | { readonly type: 'transaction-of'; readonly id: number; readonly statements: readonly SqlStatement[] }
  /**
   * Runs `prefix` and then each statement in one transaction there; answered with one `rows` (or
   * `error`) per statement under its id in `ids`, each as soon as the statement has run.
   */
  | {
      readonly type: 'read-each';
      readonly ids: readonly number[];
      readonly prefix: readonly SqlStatement[];
      readonly statements: readonly SqlStatement[];
    }
  /** Opens transaction `tx`; answered once PGlite has begun it. */
  | { readonly type: 'begin'; readonly id: number; readonly tx: number }
  | { readonly type: 'tx-query'; readonly id: number; readonly tx: number; readonly text: string; readonly params: readonly unknown[] }
  /** Commits or rolls back transaction `tx`; answered once it has ended. */
  | { readonly type: 'end'; readonly id: number; readonly tx: number; readonly commit: boolean }
  | { readonly type: 'close'; readonly id: number };

/** A database error's message and fields (such as the SQLSTATE `code`), which survive the copy. */
export interface ThreadError {
  readonly message: string;
  readonly fields: Readonly<Record<string, string | number>>;
}

export type FromPgliteThread =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: ThreadError }
  | { readonly type: 'rows'; readonly id: number; readonly rows: unknown[] }
  | { readonly type: 'error'; readonly id: number; readonly error: ThreadError }
  /** The database can no longer be used (PostgreSQL stopped: a PANIC): the thread ends right after. */
  | { readonly type: 'stopped'; readonly error: ThreadError }
  /** A checkpoint the thread took by itself (see WalCheckpoints). */
  | ({ readonly type: 'checkpointed' } & Checkpointed)
  /** A checkpoint, or the read of the log's length before it, failed; it is tried again later. */
  | { readonly type: 'checkpoint-failed'; readonly error: ThreadError };

export function toThreadError(error: unknown): ThreadError {
  if (!(error instanceof Error)) return { message: String(error), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number') fields[key] = value;
  }
  return { message: error.message, fields };
}

export function fromThreadError(error: ThreadError): Error {
  return Object.assign(new Error(error.message), error.fields);
}
