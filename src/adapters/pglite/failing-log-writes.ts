import { ERRNO, FlushingNodeFS, isLogFile, type FileSystemModule, type StreamWrite } from './flushing-node-fs.js';

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

  // The fault is the host's, beneath the flushing file system's own operations, which see it as
  // they would a real one.
  protected override addOperations(module: FileSystemModule): void {
    const operations = module.FS.filesystems.NODEFS.stream_ops;
    const write = operations['write'] as StreamWrite;
    operations['write'] = ((stream, ...rest) => {
      if (this.#failing() && isLogFile(stream)) throw new module.FS.ErrnoError(ERRNO.ENOSPC);
      return write(stream, ...rest);
    }) satisfies StreamWrite;
    super.addOperations(module);
  }
}
