import { EMBEDDED_CHROMA, lockDataDir } from '../data-dir-lock.js';
import { Restarts, type Supervision } from '../restarts.js';
import { startChromaProcess, type ChromaProcess, type ChromaProcessOptions } from './chroma-process.js';

export interface SupervisedChroma {
  /** Where the server answers, the same after each start. */
  readonly url: string;
  /** The running server's process id (a new one after each start). */
  readonly pid: () => number;
  /** Ends the server, and any start that is waiting. */
  stop(): Promise<void>;
}

/**
 * Embedded mode's Chroma, started again on the same port and folder whenever it exits by itself
 * (a crash, the out-of-memory killer): after 1 s, and after twice as long each time a start fails,
 * up to 30 s. Meanwhile vector requests fail with chroma unavailable (503, and `/readyz` names
 * chroma); the collections are on the disk, so the vector store goes on with them once it is back.
 * The folder's Chroma is one process's: another that asks for it meanwhile gets a DataDirBusyError.
 */
export async function superviseChroma(options: ChromaProcessOptions, supervision: Supervision = {}): Promise<SupervisedChroma> {
  // Before anything else: the start ends a Chroma of this folder that it takes for one left behind.
  const lock = await lockDataDir(options.dataDir, options.logger, EMBEDDED_CHROMA);
  let current: ChromaProcess;
  try {
    current = await startChromaProcess(options);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const port = Number(new URL(current.url).port);
  const logger = options.logger.child({ component: 'chroma-process' });
  const restarts = new Restarts<ChromaProcess>({
    what: 'chroma',
    start: () => startChromaProcess({ ...options, port }),
    started: async (next) => {
      current = next;
      watch(next);
    },
    discard: (next) => next.stop(),
    logger,
    supervision,
  });
  // What the exited server still holds (its pid file, the hook that would end it with Engram) is let
  // go first; a failure there is logged, and the server is started again all the same.
  const watch = (started: ChromaProcess): void => {
    void started.crashed
      .then(() => started.stop())
      .catch((error: unknown) => logger.warn({ err: error }, 'could not let go of all an exited chroma held'))
      .then(() => restarts.stopped(new Error(`chroma (pid ${started.pid}) exited`)));
  };
  watch(current);
  return {
    url: current.url,
    pid: () => current.pid,
    stop: async () => {
      try {
        await restarts.close();
        await current.stop();
      } finally {
        await lock.release();
      }
    },
  };
}
