import type { Worker } from 'node:worker_threads';
import { DependencyUnavailableError } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import { turnOffOnnxRuntimeTelemetry } from './onnx/telemetry-off.js';
import { fromThread, type ThreadError } from './thread-error.js';
import { Restarts, type Supervision } from '../restarts.js';
import { startWorkerThread, whenStarted } from '../worker-thread.js';
import type { UseLiteModel, UseLiteRuntime } from './use-lite-model.js';

export interface UseLiteWorkerData {
  readonly runtime: UseLiteRuntime;
  readonly maxTextChars: number;
  /** The nice value the thread takes before it loads the model; 0 leaves it as it starts. */
  readonly niceness: number;
}
export interface ToWorker {
  readonly id: number;
  readonly texts: readonly string[];
}
export type FromWorker =
  | { readonly type: 'ready'; readonly backend: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly vectors: Float32Array[] }
  | { readonly type: 'error'; readonly id: number; readonly error: ThreadError };

export interface UseLiteWorkerPoolOptions {
  readonly threads: number;
  readonly runtime: UseLiteRuntime;
  readonly maxTextChars: number;
  /** The threads' nice value (see BACKGROUND_NICENESS); 0 leaves them at the process's. */
  readonly niceness: number;
  readonly logger: Logger;
  /** How a thread that exits is started again, and who counts it (see Restarts). */
  readonly supervision?: Supervision;
  /** Starts one thread on these data. Default startUseLiteThread; tests start failing ones here. */
  readonly startThread?: (data: UseLiteWorkerData) => Worker;
}

/** The model run in worker threads: same contract as the in-thread model, plus `close`. */
export interface UseLiteWorkerPool extends Omit<UseLiteModel, 'dispose'> {
  close(): Promise<void>;
}

interface Job {
  readonly id: number;
  readonly texts: readonly string[];
  readonly resolve: (vectors: Float32Array[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Thread {
  readonly worker: Worker;
  job: Job | null;
}

/**
 * Starts `threads` workers, each with its own copy of the model, and resolves once all are loaded.
 * A thread that exits is started again by its own supervisor; while none runs, calls fail as the
 * embedder being unavailable, which the write queue retries.
 */
export async function startUseLiteWorkerPool(options: UseLiteWorkerPoolOptions): Promise<UseLiteWorkerPool> {
  const { logger } = options;
  const threads: Thread[] = [];
  const supervisors = new Set<Restarts<Worker>>();
  const waiting: Job[] = [];
  let nextId = 1;
  let closing = false;

  const dispatch = (): void => {
    for (const thread of threads) {
      if (thread.job !== null) continue;
      const job = waiting.shift();
      if (job === undefined) return;
      thread.job = job;
      thread.worker.postMessage({ id: job.id, texts: job.texts } satisfies ToWorker);
    }
  };

  const supervisor = (): Restarts<Worker> => {
    const restarts: Restarts<Worker> = new Restarts({
      what: 'an embedding thread',
      start: async () => (await spawnThread(options)).worker,
      started: async (worker) => {
        adopt(worker, restarts);
        dispatch();
      },
      discard: async (worker) => {
        await worker.terminate();
      },
      logger,
      ...(options.supervision === undefined ? {} : { supervision: options.supervision }),
    });
    supervisors.add(restarts);
    return restarts;
  };

  /** Takes a started thread; `restarts` starts its successor once it exits. */
  const adopt = (worker: Worker, restarts: Restarts<Worker>): void => {
    const thread: Thread = { worker, job: null };
    threads.push(thread);
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'result' && message.type !== 'error') return;
      const job = thread.job;
      thread.job = null;
      if (job !== null && job.id === message.id) {
        if (message.type === 'result') job.resolve(message.vectors);
        else job.reject(fromThread(message.error));
      }
      dispatch();
    });
    worker.on('error', (error) => logger.error({ err: error }, 'embedding thread failed'));
    worker.once('exit', (code) => {
      threads.splice(threads.indexOf(thread), 1);
      const exited = new Error(`embedding thread exited with ${code}`);
      thread.job?.reject(new DependencyUnavailableError('embedder', exited));
      if (closing) return;
      // No thread is left to take them: they fail now rather than wait for a start that may fail.
      if (threads.length === 0) for (const job of waiting.splice(0)) job.reject(new DependencyUnavailableError('embedder', exited));
      restarts.stopped(exited);
    });
  };

  // Here, on the thread whose environment the threads' native library reads.
  if (options.runtime !== 'tfjs') turnOffOnnxRuntimeTelemetry();
  const started = await Promise.allSettled(Array.from({ length: options.threads }, () => spawnThread(options)));
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(
      started.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.worker.terminate() : null)),
    );
    throw new DependencyUnavailableError('embedder', failure.reason);
  }
  let backend = 'unknown';
  for (const outcome of started) {
    if (outcome.status !== 'fulfilled') continue;
    backend = outcome.value.backend;
    adopt(outcome.value.worker, supervisor());
  }

  return {
    backend: `${backend} in ${options.threads} worker thread(s)`,
    embedBatch(texts) {
      if (closing) return Promise.reject(new DependencyUnavailableError('embedder', new Error('closed')));
      if (threads.length === 0) {
        return Promise.reject(new DependencyUnavailableError('embedder', new Error('no embedding thread is running')));
      }
      return new Promise((resolve, reject) => {
        waiting.push({ id: nextId++, texts, resolve, reject });
        dispatch();
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const job of waiting.splice(0)) job.reject(new DependencyUnavailableError('embedder', new Error('closed')));
      await Promise.all([...supervisors].map((restarts) => restarts.close()));
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
    },
  };
}

/**
 * How long a thread may take to load the model (about a second, several on a machine under load)
 * before it is taken as stuck, ended, and started again as a thread that failed.
 */
const START_LIMIT_MS = 120_000;

/** One worker that has loaded the model; rejects when it cannot. */
function spawnThread(options: UseLiteWorkerPoolOptions): Promise<{ worker: Worker; backend: string }> {
  const workerData: UseLiteWorkerData = {
    runtime: options.runtime,
    maxTextChars: options.maxTextChars,
    niceness: options.niceness,
  };
  const worker = (options.startThread ?? startUseLiteThread)(workerData);
  return whenStarted(worker, 'the embedding thread', (message: FromWorker) =>
    message.type === 'ready'
      ? { worker, backend: message.backend }
      : message.type === 'failed'
        ? new Error(`the embedding thread could not load the model: ${message.message}`)
        : undefined,
    START_LIMIT_MS,
  );
}

/** Starts one thread of the model (`use-lite-worker`); it says when it is ready or failed. */
export function startUseLiteThread(data: UseLiteWorkerData): Worker {
  return startWorkerThread(import.meta.url, 'use-lite-worker', data);
}
