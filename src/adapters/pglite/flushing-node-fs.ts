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

/** EIO: how PostgreSQL learns that a flush failed (it then stops rather than go on). */
const EIO = 29;

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
   * `onFailure` hears of a failed flush before PostgreSQL does. PostgreSQL then stops (PANIC), and
   * PGlite, which runs it in the caller's thread, blocks that thread for good at its next
   * statement: a caller that cannot have it so ends the thread from here.
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
    FS.filesystems.NODEFS.stream_ops['fsync'] = (stream: HostStream): number => {
      if (stream.nfd === undefined) return 0;
      try {
        this.#flush(stream.nfd);
      } catch (error) {
        this.#onFailure?.(error);
        throw new FS.ErrnoError(EIO);
      }
      return 0;
    };
  }
}
