import { DependencyUnavailableError, DomainError, isDomainError, ValidationError } from '../../domain/errors.js';
import { BACKGROUND_NICENESS } from '../cpu-priority.js';
import type { Supervision } from '../restarts.js';
import type { Embedder } from '../../ports/embedder.js';
import type { Logger } from '../../ports/logger.js';
import { MicroBatcher } from './micro-batcher.js';
import { loadUseLiteModel } from './use-lite-loader.js';
import { USE_LITE_DIMENSIONS, USE_LITE_MAX_TEXT_CHARS, useLiteModelId, type UseLiteRuntime } from './use-lite-model.js';
import { startUseLiteWorkerPool, type UseLiteWorkerPool } from './use-lite-worker-pool.js';

export interface UseLiteEmbedderOptions {
  readonly logger: Logger;
  /** Where and how the model computes (see UseLiteRuntime). Default `onnx-int8`. */
  readonly runtime?: UseLiteRuntime;
  /**
   * Most texts in one model call; concurrent `embed` calls are coalesced up to this size. A full
   * batch of short texts takes a few hundred ms, during which a main-thread model holds the event
   * loop. Default 64.
   */
  readonly maxBatchSize?: number;
  /**
   * How long, in ms, a lone call waits for others to share its model call. 0 waits for one turn
   * of the event loop, which gathers calls made together (see `dispatchWhenIdle`). Default 0.
   */
  readonly maxWaitMs?: number;
  /**
   * Worker threads that run the model, each with its own copy (about 30 MB). 0 runs it on the
   * calling thread, whose event loop then stalls for the length of each model call. Default 0.
   */
  readonly threads?: number;
  /**
   * Whether the model's threads run background work (writes' embeddings, which nobody waits on):
   * they then yield the CPU to the process's other threads (BACKGROUND_NICENESS, on Linux). Has
   * no effect with `threads` 0. Default false.
   */
  readonly background?: boolean;
  /** How a model thread that exits is started again, and who counts it (see Restarts). */
  readonly supervision?: Supervision;
  /**
   * Whether a call that finds a model thread idle goes to it as soon as the current task ends,
   * rather than after a turn of the event loop (see MicroBatcher's `idleDispatch`): for searches,
   * whose query waits on its embedding, and whose calls under load still gather while the threads
   * are busy. Has no effect with `threads` 0. Default false.
   */
  readonly dispatchWhenIdle?: boolean;
  /**
   * Longest text, in UTF-16 code units, that is embedded; the rest is ignored. Default 4,096
   * (USE_LITE_MAX_TEXT_CHARS).
   */
  readonly maxTextChars?: number;
}

/**
 * The bundled Universal Sentence Encoder Lite: 512 dimensions, English, offline. Loads the model
 * before it resolves, so a broken install fails at start rather than on the first write.
 */
export async function createUseLiteEmbedder(options: UseLiteEmbedderOptions): Promise<Embedder> {
  const { logger } = options;
  const threads = options.threads ?? 0;
  const maxTextChars = options.maxTextChars ?? USE_LITE_MAX_TEXT_CHARS;
  const runtime = options.runtime ?? 'onnx-int8';
  if (!Number.isInteger(threads) || threads < 0) throw new ValidationError('threads must be a whole number ≥ 0');

  const id = await useLiteModelId();
  const startedAt = performance.now();
  const runner =
    threads === 0
      ? await loadInThread(runtime, maxTextChars)
      : await startUseLiteWorkerPool({
          threads,
          runtime,
          maxTextChars,
          niceness: options.background === true ? BACKGROUND_NICENESS : 0,
          logger,
          ...(options.supervision === undefined ? {} : { supervision: options.supervision }),
        });
  logger.info(
    { model: id, backend: runner.backend, threads, loadMs: Math.round(performance.now() - startedAt) },
    'embedding model loaded',
  );

  const batcher = new MicroBatcher<string, Float32Array>({
    maxBatchSize: options.maxBatchSize ?? 64,
    maxWaitMs: options.maxWaitMs ?? 0,
    concurrency: Math.max(1, threads),
    // A model on this thread answers through microtasks: it must wait for the loop's turn.
    idleDispatch: threads > 0 && options.dispatchWhenIdle === true ? 'this-turn' : 'next-turn',
    run: async (texts) => {
      const began = performance.now();
      try {
        const vectors = await runner.embedBatch(texts);
        logger.debug({ texts: texts.length, ms: Math.round(performance.now() - began) }, 'embedded a batch');
        return vectors;
      } catch (error) {
        if (isDomainError(error)) throw error;
        throw new DomainError('internal', 'embedder_failed', 'the embedding model failed', { cause: error });
      }
    },
  });
  let closed = false;

  return {
    model: { id, dimensions: USE_LITE_DIMENSIONS },
    embed(texts) {
      if (closed) return Promise.reject(new DependencyUnavailableError('embedder', new Error('closed')));
      return batcher.submit(texts);
    },
    async close() {
      if (closed) return;
      closed = true;
      await batcher.drain();
      await runner.close();
    },
  };
}

/** The model where it runs, on this thread or in workers. */
type ModelRunner = UseLiteWorkerPool;

async function loadInThread(runtime: UseLiteRuntime, maxTextChars: number): Promise<ModelRunner> {
  const model = await loadUseLiteModel({ runtime, maxTextChars });
  return {
    backend: model.backend,
    embedBatch: (texts) => model.embedBatch(texts),
    async close() {
      model.dispose();
    },
  };
}
