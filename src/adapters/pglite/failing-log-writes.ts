import { FlushingNodeFS, type FileSystemModule, type HostStream } from './flushing-node-fs.js';

/** ENOSPC in Emscripten's numbering: what a write gets on a full disk. */
const ENOSPC = 51;

type Write = (stream: HostStream, ...rest: unknown[]) => number;

/**
 * Fault injection for tests: the flushing file system, whose writes to the write-ahead log fail
 * as on a full disk while `failing()` holds. PostgreSQL stops (PANIC) at a log write it cannot
 * make, where a data file it cannot write costs only the statement (ERROR).
 */
export class FailingLogWrites extends FlushingNodeFS {
  readonly #failing: () => boolean;

  constructor(failing: () => boolean, ...flushing: ConstructorParameters<typeof FlushingNodeFS>) {
    super(...flushing);
    this.#failing = failing;
  }

  protected override addOperations(module: FileSystemModule): void {
    super.addOperations(module);
    const operations = module.FS.filesystems.NODEFS.stream_ops;
    const write = operations['write'] as Write;
    operations['write'] = ((stream, ...rest) => {
      if (this.#failing() && stream.path?.includes('/pg_wal/') === true) throw new module.FS.ErrnoError(ENOSPC);
      return write(stream, ...rest);
    }) satisfies Write;
  }
}
