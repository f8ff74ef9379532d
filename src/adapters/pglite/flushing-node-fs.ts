import { fsyncSync } from 'node:fs';
import { NodeFS } from '@electric-sql/pglite/nodefs';

type ModuleOptions = Parameters<NodeFS['init']>[1];
type PreRun = NonNullable<ModuleOptions['preRun']>[number];

/** What PGlite's file system layer (Emscripten's NODEFS) passes a stream operation. */
export interface HostStream {
  /** The host file's descriptor; directories have none. */
  readonly nfd?: number;
  /** The file's path in PGlite's file system. */
  readonly path?: string;
}

/** The part of the Emscripten module this file system touches. */
export interface FileSystemModule {
  readonly FS: {
    readonly filesystems: { readonly NODEFS: { readonly stream_ops: Record<string, unknown> } };
    readonly ErrnoError: new (errno: number) => Error;
  };
}

/**
 * Emscripten's numbers of the errors used here. EIO is how PostgreSQL learns that a flush failed
 * (it then stops rather than go on); ENOSPC is what a write gets on a full disk.
 */
export const ERRNO = { EIO: 29, ENOSPC: 51 } as const;

/** The errors a host write can end with, as the C library words them. */
const WRITE_ERRORS: Readonly<Record<number, string>> = { [ERRNO.EIO]: 'I/O error', [ERRNO.ENOSPC]: 'No space left on device' };

/** A stream operation that writes: its stream, then the buffer, offset, length and position. */
export type StreamWrite = (stream: HostStream, ...rest: unknown[]) => number;

/** Whether the stream is of a file of the write-ahead log. */
export const isLogFile = (stream: HostStream): boolean => stream.path?.includes('/pg_wal/') === true;

/** Says which write of the write-ahead log failed, and why, in PostgreSQL's words. */
const logWriteFailure = (stream: HostStream, error: unknown): Error => {
  const errno = (error as { errno?: unknown }).errno;
  const why = typeof errno === 'number' ? (WRITE_ERRORS[errno] ?? `error ${errno}`) : String(error);
  return new Error(`could not write to log file ${stream.path?.split('/').pop() ?? ''}: ${why}`, { cause: error });
};

/**
 * PGlite's Node.js file system, with flushes that reach the disk. PGlite mounts Emscripten's NODEFS
 * on the data folder, whose files have no `fsync` operation (and whose `fdatasync` does nothing), so
 * PostgreSQL's flushes of its write-ahead log and of its files at checkpoints were lost: a commit
 * reached the operating system, not the disk. This adds the operation, `fs.fsyncSync` on the host
 * file; PostgreSQL must then run with `fsync` on and `wal_sync_method=fsync` (see
 * PGLITE_START_PARAMS). A failed flush is reported to PostgreSQL as EIO.
 */
export class FlushingNodeFS extends NodeFS {
  readonly #flush: (descriptor: number) => void;
  readonly #onFailure: ((error: unknown) => void) | undefined;

  /**
   * `flush` is the call that makes a file's writes durable: `fs.fsyncSync` unless told otherwise.
   * `onFailure` hears of a failed flush, or of a failed write of the write-ahead log, before
   * PostgreSQL does. PostgreSQL then stops (PANIC), and PGlite, which runs it in the caller's
   * thread, blocks that thread for good, at once in a transaction's COMMIT, else at its next
   * statement: a caller that cannot have it so ends the thread from here. (A log segment that
   * PostgreSQL fails to fill ahead of use costs it only the statement; it is reported all the same.)
   */
  constructor(dataDir: string, flush: (descriptor: number) => void = fsyncSync, onFailure?: (error: unknown) => void) {
    super(dataDir);
    this.#flush = flush;
    this.#onFailure = onFailure;
  }

  override async init(...args: Parameters<NodeFS['init']>): ReturnType<NodeFS['init']> {
    const { emscriptenOpts } = await super.init(...args);
    const addOperations: PreRun = (module) => this.addOperations(module as unknown as FileSystemModule);
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), addOperations] } };
  }

  /** Sets the file system's stream operations, before PGlite opens a file. */
  protected addOperations({ FS }: FileSystemModule): void {
    const operations = FS.filesystems.NODEFS.stream_ops;
    const write = operations['write'] as StreamWrite;
    operations['write'] = ((stream, ...rest) => {
      try {
        return write(stream, ...rest);
      } catch (error) {
        if (isLogFile(stream)) this.#onFailure?.(logWriteFailure(stream, error));
        throw error;
      }
    }) satisfies StreamWrite;
    operations['fsync'] = (stream: HostStream): number => {
      if (stream.nfd === undefined) return 0;
      try {
        this.#flush(stream.nfd);
      } catch (error) {
        this.#onFailure?.(error);
        throw new FS.ErrnoError(ERRNO.EIO);
      }
      return 0;
    };
  }
}
