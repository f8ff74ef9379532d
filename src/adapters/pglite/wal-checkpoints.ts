import { PeriodicRun } from '../../support/periodic-run.js';

/**
 * When the embedded database takes a checkpoint. PostgreSQL starts one by itself (after
 * max_wal_size of write-ahead log, or checkpoint_timeout) only from its checkpointer process, and
 * PGlite, a single-user backend, has none: left alone, its log grows for as long as the database
 * stays open (about 9 KB per memory written: 785 MB after 89k) and a start after a crash replays
 * all of it. The thread that runs PGlite reads the log's length since the last checkpoint now and
 * then, and takes one as the checkpointer would.
 */
export interface WalCheckpointPolicy {
  /**
   * Log written since the last checkpoint that starts the next one, in bytes. Default 32 MiB: as
   * PostgreSQL itself would with the max_wal_size of 64 MB Engram starts it with, so that the log
   * keeps about 64 MB of files, and each checkpoint flushes little (a few tens of ms).
   */
  readonly walBytes: number;
  /** Longest time between checkpoints while the log moves, in ms. Default 300,000, as checkpoint_timeout. */
  readonly maxIntervalMs: number;
  /** How often the log's length is read, in ms. Default 1,000. */
  readonly checkEveryMs: number;
}

export const DEFAULT_WAL_CHECKPOINTS: WalCheckpointPolicy = {
  walBytes: 32 * 1024 * 1024,
  maxIntervalMs: 300_000,
  checkEveryMs: 1_000,
};

/**
 * Log written by a checkpoint itself (its record, after the redo point it names): no more than
 * this since the last one means nothing was written since.
 */
const CHECKPOINT_RECORD_BYTES = 4_096;

/** The log written since the last checkpoint's redo point, in bytes, as `since`. */
export const LOG_SINCE_CHECKPOINT = `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::float8 AS since FROM pg_control_checkpoint()`;

/** Runs one statement on the database, outside any transaction, and gives its rows. */
export type RunStatement = (text: string) => Promise<readonly unknown[]>;

/** A checkpoint taken: the log it covered, in bytes, and how long it held the database, in ms. */
export interface Checkpointed {
  readonly walBytes: number;
  readonly ms: number;
}

export interface CheckpointEvents {
  readonly checkpointed: (done: Checkpointed) => void;
  /** A read or checkpoint failed; it is tried again at the next read. */
  readonly failed: (error: unknown) => void;
}

/**
 * Reads the log's length every `checkEveryMs` (from the end of the last read) and takes a
 * checkpoint when the policy says so.
 * Reads and checkpoints are statements like any other, so they wait for an open transaction and
 * never overlap.
 */
export class WalCheckpoints {
  readonly #policy: WalCheckpointPolicy;
  readonly #now: () => number;
  readonly #schedule: PeriodicRun<Checkpointed | null>;
  #lastCheckpointAt: number;

  constructor(
    private readonly run: RunStatement,
    events: CheckpointEvents,
    policy: Partial<WalCheckpointPolicy> = {},
    now: () => number = Date.now,
  ) {
    this.#policy = { ...DEFAULT_WAL_CHECKPOINTS, ...policy };
    this.#now = now;
    this.#lastCheckpointAt = now();
    this.#schedule = new PeriodicRun({
      intervalMs: this.#policy.checkEveryMs,
      run: () => this.check(),
      onDone: (done) => {
        if (done !== null) events.checkpointed(done);
      },
      onFailed: events.failed,
    });
  }

  start(): void {
    this.#schedule.start();
  }

  /** Stops reading; resolves once a read or checkpoint under way has ended. */
  stop(): Promise<void> {
    return this.#schedule.stop();
  }

  /** Reads the log's length since the last checkpoint, and takes one if due; null if not. */
  async check(): Promise<Checkpointed | null> {
    const [row] = (await this.run(LOG_SINCE_CHECKPOINT)) as Array<{ since: number } | undefined>;
    const since = row?.since ?? 0;
    const due = since >= this.#policy.walBytes || (since > CHECKPOINT_RECORD_BYTES && this.#now() - this.#lastCheckpointAt >= this.#policy.maxIntervalMs);
    if (!due) return null;
    const startedAt = performance.now();
    await this.run('CHECKPOINT');
    this.#lastCheckpointAt = this.#now();
    return { walBytes: since, ms: performance.now() - startedAt };
  }
}
